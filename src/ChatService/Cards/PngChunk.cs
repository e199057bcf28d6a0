namespace ChatService.Cards;

/// <summary>One chunk of a PNG file: its type and where it lies (<see cref="Start"/> at its length field, <see cref="DataOffset"/> at its data).</summary>
internal readonly record struct PngChunk(string Type, int Start, int DataLength)
{
    /// <summary>Length, type, data and CRC.</summary>
    public const int Overhead = 12;

    public int DataOffset => Start + 8;

    public int End => Start + Overhead + DataLength;

    public bool IsText => Type is "tEXt" or "zTXt" or "iTXt";
}
