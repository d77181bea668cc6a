using Media.Contracts.V1;
using Media.Embeddings.Packs;
using Media.Embeddings.Pipeline;
using Media.Embeddings.Runtime;

namespace Media.Tests.Embeddings;

public sealed class EncodeStageTests : IDisposable
{
    readonly TempDir _tmp = new();
    readonly ModelPack _pack = ModelPack.Load(Paths.ColorClip, new OnnxSessionFactory(new SessionSettings { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 }));

    string Png(string name, string color)
    {
        var path = _tmp[name];
        Ffmpeg.Run("-f", "lavfi", "-i", $"color=c={color}:s=64x48", "-frames:v", "1", path);
        return path;
    }

    static MediaSubmitted Submit(string path) => new(Guid.NewGuid(), Guid.NewGuid(), new MediaSource(Path: path));

    [Fact]
    public async Task An_item_that_fails_unexpectedly_is_retried_alone_and_only_it_is_rejected_with_the_reason()
    {
        string[] colors = ["red", "blue", "green", "yellow", "white", "black"];
        var files = colors.Select(c => Png($"{c}.png", c)).ToArray();
        var guilty = Media.Hashing.ContentHash.Sha256Hex(File.ReadAllBytes(files[0]));
        var flaky = Media.Hashing.ContentHash.Sha256Hex(File.ReadAllBytes(files[1]));
        var flakyCalls = 0;
        // The catalogue lookup is the seam: it throws for one item always and for another only the first time.
        bool IsCatalogued(string sha)
        {
            if (sha == guilty) throw new InvalidOperationException("boom");
            if (sha == flaky && Interlocked.Increment(ref flakyCalls) == 1) throw new IOException("transient");
            return false;
        }
        await using var stage = new EncodeStage([_pack], IsCatalogued);
        var results = await stage.EncodeAsync([.. files.Select(Submit), Submit(_tmp["missing.png"])]);

        Assert.Equal(7, results.Length);
        Assert.Equal("encoding failed: InvalidOperationException: boom", results[0].Error);
        Assert.Null(results[1].Error);                       // failed once, then encoded alone
        Assert.Equal(2, flakyCalls);
        Assert.All(results[1..6], r => Assert.Single(r.Embeddings));
        Assert.Equal(("no such file", _tmp["missing.png"]), (results[6].Error, results[6].Path));   // bad input: rejected by the reader
        Assert.Equal(files, results[..6].Select(r => r.Path));
    }

    [Fact]
    public async Task Catalogued_bytes_are_not_encoded_again()
    {
        var file = Png("a.png", "green");
        await using var stage = new EncodeStage([_pack], _ => true);
        var r = Assert.Single(await stage.EncodeAsync([Submit(file)]));
        Assert.True(r.AlreadyIndexed);
        Assert.Empty(r.Embeddings);
    }

    public void Dispose()
    {
        _pack.Dispose();
        _tmp.Dispose();
    }
}
