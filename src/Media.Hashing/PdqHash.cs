using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;

namespace Media.Hashing;

/// <summary>
/// A 256-bit PDQ hash. Bit k (k = 16·row + column of the 16×16 DCT block) is bit k of the 256-bit number
/// whose 64 hex digits are the hash's standard text form (ThreatExchange's <c>Hash256::format</c>:
/// sixteen 16-bit words, most significant first).
/// </summary>
public readonly record struct PdqHash(ulong W0, ulong W1, ulong W2, ulong W3)
{
    /// <summary>Number of bits.</summary>
    public const int Bits = 256;

    /// <summary>Builds a hash from 256 booleans indexed by bit number.</summary>
    public static PdqHash FromBits(ReadOnlySpan<bool> bits)
    {
        if (bits.Length != Bits) throw new ArgumentException("PDQ has 256 bits", nameof(bits));
        Span<ulong> w = stackalloc ulong[4];
        for (var k = 0; k < Bits; k++)
            if (bits[k]) w[k >> 6] |= 1UL << (k & 63);
        return new PdqHash(w[0], w[1], w[2], w[3]);
    }

    /// <summary>Whether bit <paramref name="k"/> (0–255) is set.</summary>
    public bool this[int k] => ((k >> 6) switch { 0 => W0, 1 => W1, 2 => W2, _ => W3 } >> (k & 63) & 1) != 0;

    /// <summary>Hamming distance: the number of differing bits, 0–256.</summary>
    public int HammingDistance(in PdqHash other) =>
        BitOperations.PopCount(W0 ^ other.W0) + BitOperations.PopCount(W1 ^ other.W1) +
        BitOperations.PopCount(W2 ^ other.W2) + BitOperations.PopCount(W3 ^ other.W3);

    /// <summary>64 lower-case hex digits.</summary>
    public override string ToString() => $"{W3:x16}{W2:x16}{W1:x16}{W0:x16}";

    /// <summary>Parses 64 hex digits.</summary>
    /// <exception cref="FormatException">Not 64 hex digits.</exception>
    public static PdqHash Parse(string hex)
    {
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit)) throw new FormatException($"a PDQ hash is 64 hex digits, got '{hex}'");
        ulong Word(int i) => ulong.Parse(hex.AsSpan(i * 16, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        return new PdqHash(Word(3), Word(2), Word(1), Word(0));
    }

    /// <summary>Bytes in <see cref="ToBytes"/>'s form.</summary>
    public const int Bytes = Bits / 8;

    /// <summary>The hash as 32 bytes, big-endian (the hex form's byte order), for storage.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[Bytes];
        WriteBytes(bytes);
        return bytes;
    }

    /// <summary>Writes <see cref="ToBytes"/>'s 32 bytes to the start of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">Fewer than 32 bytes of room.</exception>
    public void WriteBytes(Span<byte> destination)
    {
        if (destination.Length < Bytes) throw new ArgumentException($"a PDQ hash needs {Bytes} bytes, got {destination.Length}", nameof(destination));
        BinaryPrimitives.WriteUInt64BigEndian(destination, W3);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], W2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], W1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], W0);
    }

    /// <summary>Inverse of <see cref="ToBytes"/>.</summary>
    /// <exception cref="FormatException">Not 32 bytes.</exception>
    public static PdqHash FromBytes(ReadOnlySpan<byte> bytes) => bytes.Length == Bytes
        ? new PdqHash(BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]), BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]), BinaryPrimitives.ReadUInt64BigEndian(bytes))
        : throw new FormatException($"a PDQ hash is {Bytes} bytes, got {bytes.Length}");
}

/// <summary>The 8 dihedral PDQ hashes of an image, in the reference hasher's order.</summary>
public enum Dihedral { Original, Rotate90, Rotate180, Rotate270, FlipX, FlipY, FlipPlus1, FlipMinus1 }

/// <summary>A PDQ result.</summary>
/// <param name="Hash">The hash of the image as given.</param>
/// <param name="Quality">PDQ's image-domain quality metric, 0–100; below ~50 hashes are unreliable (flat or featureless images).</param>
/// <param name="Dihedral">The hashes of the 8 rotations and mirrorings, indexed by <see cref="Hashing.Dihedral"/> (index 0 equals <paramref name="Hash"/>).</param>
public sealed record PdqResult(PdqHash Hash, int Quality, PdqHash[] Dihedral);
