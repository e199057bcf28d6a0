-- Version 2: cancellation requested while another replica generates the reply, and how often
-- recovery has taken a reply over (a reply that keeps failing is settled as failed, not retried
-- forever).

ALTER TABLE Candidates ADD COLUMN CancelRequested BOOL;

ALTER TABLE Candidates ADD COLUMN RecoveryAttempts INT64;
