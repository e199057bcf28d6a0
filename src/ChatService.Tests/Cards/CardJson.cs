using System.Text.Json.Nodes;

namespace ChatService.Tests.Cards;

/// <summary>Compares cards as JSON: the same values (numbers by value), and optionally the same key order everywhere.</summary>
internal static class CardJson
{
    public static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    public static void AssertSame(string expected, string actual, bool keyOrder = true)
    {
        var (e, a) = (JsonNode.Parse(expected), JsonNode.Parse(actual));
        Assert.True(JsonNode.DeepEquals(e, a), $"the cards differ:\nexpected {e!.ToJsonString()}\nactual   {a!.ToJsonString()}");
        if (keyOrder)
        {
            Assert.Equal(Keys(e), Keys(a));
        }
    }

    /// <summary>Every object key with its path, depth first, in document order.</summary>
    public static List<string> Keys(JsonNode? node, string path = "$")
    {
        var keys = new List<string>();
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    keys.Add($"{path}.{key}");
                    keys.AddRange(Keys(value, $"{path}.{key}"));
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    keys.AddRange(Keys(array[i], $"{path}[{i}]"));
                }

                break;
        }

        return keys;
    }
}
