using System.Security.Cryptography;

namespace Media.Hashing;

/// <summary>The content id of media: SHA-256 (FIPS 180-4) of the exact bytes, as 64 lower-case hex digits.</summary>
public static class ContentHash
{
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
