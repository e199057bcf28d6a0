namespace ChatService.Tests.Spanner;

/// <summary>The tables the Spanner client tests write to.</summary>
internal static class TestSchema
{
    public static readonly IReadOnlyList<string> Statements =
    [
        """
        CREATE TABLE AllTypes (
          Id STRING(64) NOT NULL,
          BoolValue BOOL,
          Int64Value INT64,
          Float64Value FLOAT64,
          StringValue STRING(MAX),
          BytesValue BYTES(MAX),
          TimestampValue TIMESTAMP,
          DateValue DATE,
          JsonValue JSON,
          NumericValue NUMERIC,
          StringArray ARRAY<STRING(MAX)>,
          Int64Array ARRAY<INT64>,
          BytesArray ARRAY<BYTES(MAX)>,
          CommittedAt TIMESTAMP OPTIONS (allow_commit_timestamp = true),
        ) PRIMARY KEY (Id)
        """,
        """
        CREATE TABLE Counters (
          Name STRING(64) NOT NULL,
          Value INT64 NOT NULL,
        ) PRIMARY KEY (Name)
        """,
        """
        CREATE TABLE Items (
          Bucket STRING(64) NOT NULL,
          Id STRING(64) NOT NULL,
          Payload STRING(MAX),
        ) PRIMARY KEY (Bucket, Id)
        """,
    ];
}
