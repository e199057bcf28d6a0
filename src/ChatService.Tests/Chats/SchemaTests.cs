using ChatService.Chats;
using ChatService.Storage;

namespace ChatService.Tests.Chats;

public sealed class SchemaTests
{
    [Fact]
    public void Scripts_AreVersionedAndSplitIntoStatements()
    {
        var scripts = SchemaScript.LoadAll();

        Assert.Equal(1, scripts[0].Version);
        Assert.Equal(scripts.Select(s => s.Version).Order(), scripts.Select(s => s.Version));
        Assert.All(scripts.SelectMany(s => s.Statements), s => Assert.DoesNotContain("--", s));
        Assert.Contains(scripts[0].Statements, s => SchemaMigrator.ObjectName(s) == "Turns");
    }

    [Theory]
    [InlineData("CREATE TABLE Chats (ChatId STRING(36)) PRIMARY KEY (ChatId)", "Chats")]
    [InlineData("CREATE UNIQUE NULL_FILTERED INDEX TurnsByRequestId ON Turns (ChatId, RequestId)", "TurnsByRequestId")]
    [InlineData("  create index ChatsByUser ON Chats (UserId)", "ChatsByUser")]
    [InlineData("CREATE SEARCH INDEX ChatTitleSearch ON Chats (TitleTokens) PARTITION BY UserId", "ChatTitleSearch")]
    [InlineData("ALTER TABLE Chats ADD COLUMN X INT64", null)]
    public void ObjectName_NamesWhatACreateStatementMakes(string statement, string? expected)
    {
        Assert.Equal(expected, SchemaMigrator.ObjectName(statement));
    }

    [Fact]
    public void Split_DropsCommentsAndBlankStatements()
    {
        var statements = SchemaScript.Split("-- header\nCREATE TABLE A (X INT64) PRIMARY KEY (X);\n\n-- note\n;CREATE INDEX I ON A (X);\n");

        Assert.Equal(["CREATE TABLE A (X INT64) PRIMARY KEY (X)", "CREATE INDEX I ON A (X)"], statements);
    }

    [Theory]
    [InlineData("123e4567-e89b-42d3-a456-426614174000", true)]
    [InlineData("123E4567-E89B-42D3-A456-426614174000", false)]
    [InlineData("123e4567e89b42d3a456426614174000", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Ids_AcceptOnlyCanonicalLowercaseUuids(string? id, bool valid)
    {
        Assert.Equal(valid, Ids.IsValid(id));
    }

    [Fact]
    public void Shard_IsStableAndInRange()
    {
        var id = Ids.New();

        Assert.Equal(Ids.Shard(id, 64), Ids.Shard(id, 64));
        Assert.InRange(Ids.Shard(id, 64), 0, 63);
    }
}
