-- Version 24: what a finished import reports, on its record (issue 18, housekeeping follow-ups).

-- CandidateCount: the candidates the import writes; SkippedSystemMessages: the SillyTavern system messages its
-- file had (no turn here). Written with the record by the import's first commit, so a retry of a finished
-- import answers from the row (with TurnCount) without parsing its file again and without an import slot.
-- NULL on rows written before this version: a retry of one of those parses its file as before.
ALTER TABLE ChatImports ADD COLUMN CandidateCount INT64;
ALTER TABLE ChatImports ADD COLUMN SkippedSystemMessages INT64;
