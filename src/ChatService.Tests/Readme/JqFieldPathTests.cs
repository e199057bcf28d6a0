namespace ChatService.Tests.Readme;

public sealed class JqFieldPathTests
{
    [Fact]
    public void FieldPath_PicksFromEachObject_AndPrintsRaw()
    {
        var jq = JqFieldPath.Parse(["-r", ".completed.turn"]);
        var input = """
            {
              "accepted": {}
            }
            {
              "completed": { "turn": { "seq": "3" } }
            }
            {"completed": {"turn": "text"}}
            """;

        Assert.Equal([null, """{ "seq": "3" }""", "text"], jq.Run(input));
        Assert.Equal("null\n{ \"seq\": \"3\" }\ntext\n", jq.Print(input));
    }

    [Fact]
    public void IndexingAString_FailsAsJqDoes()
    {
        var jq = JqFieldPath.Parse(["-r", ".chatId.x"]);

        Assert.Throws<InvalidOperationException>(() => jq.Run("""{"chatId":"c1"}"""));
    }

    [Theory]
    [InlineData(".chatId")]
    [InlineData("-r")]
    [InlineData("-r", ".chats[0].chatId")]
    [InlineData("-r", ".")]
    [InlineData("-r", ".a | .b")]
    [InlineData("-c", ".a")]
    [InlineData("-r", ".a", ".b")]
    public void AnythingButAFieldPath_IsRefused(params string[] arguments)
    {
        Assert.Throws<NotSupportedException>(() => JqFieldPath.Parse(arguments));
    }
}
