-- Version 23: how a continuation that was undone ended (issue 18, ContinueReply follow-ups).

-- A continuation that fails without adding text puts its candidate back as it was before it (version 22),
-- while its stream ends failed. These keep that failure, so a replay of that continuation from storage
-- (its log expired, or never reached) ends failed too, as its stream did:
-- UndoneContinuation: the number of the continuation that was undone (it applies only while it is still
-- the candidate's latest, Continuations); UndoneFailureCode, UndoneFailureReason: its failure.
-- Set by the settle that undoes it; every other settle, and the next continuation, clears them.
-- NULL for a candidate whose latest continuation was not undone.
ALTER TABLE Candidates ADD COLUMN UndoneContinuation INT64;
ALTER TABLE Candidates ADD COLUMN UndoneFailureCode STRING(64);
ALTER TABLE Candidates ADD COLUMN UndoneFailureReason STRING(MAX);
