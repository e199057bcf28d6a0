-- Version 13: ContinueReply. A continuation extends a settled candidate in place: the candidate is owed
-- again (pending, marked in the owed index, leased) with its text kept, and its settle appends what the
-- model wrote to that text. Continuations counts the continuations recorded for the candidate (NULL: none);
-- while one is owed it is that continuation's number, which names its event log apart from the reply's
-- first one (and from earlier continuations'). The request id of each continuation is recorded in
-- ChatOperations (kind "continue"), as other operations that a retry must not repeat are.
ALTER TABLE Candidates ADD COLUMN Continuations INT64;
