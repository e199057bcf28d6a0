-- Version 22: what a continued candidate was before its continuation (issue 18, review of ContinueReply).

-- ContinuedFromState, ContinuedFromFailureCode, ContinuedFromFailureReason: the candidate's state and
-- failure as they were when ContinueReply owed it again (the pending continuation clears them). A
-- continuation that fails without adding any text settles the candidate back to them: its earlier text
-- is intact, so a reply that was complete stays complete (the continuation's stream still ends failed).
-- NULL for a candidate never continued.
ALTER TABLE Candidates ADD COLUMN ContinuedFromState INT64;
ALTER TABLE Candidates ADD COLUMN ContinuedFromFailureCode STRING(64);
ALTER TABLE Candidates ADD COLUMN ContinuedFromFailureReason STRING(MAX);
