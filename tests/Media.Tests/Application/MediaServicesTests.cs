using Media.Application;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;
using Media.Embeddings.Pipeline;
using Media.Embeddings.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Tests.Application;

public sealed class MediaServicesTests : IDisposable
{
    readonly TempDir _tmp = new();

    ServiceProvider Services(WorkerRoles roles, string data) =>
        new ServiceCollection()
            .AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance)
            .AddMediaServices(new MediaServiceOptions
            {
                Roles = roles, DataDirectory = data, PackDirectories = [Paths.ColorClip],
                Sessions = new SessionSettings { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 },
            })
            .BuildServiceProvider();

    [Fact]
    public async Task Each_role_gets_its_services_and_no_others()
    {
        await using (var encode = Services(WorkerRoles.Encode, _tmp["a"]))
        {
            MediaServices.Start(encode);
            Assert.NotNull(encode.GetService<EncodeStage>());
            Assert.Null(encode.GetService<IndexedCatalog>());
            Assert.Null(encode.GetService<DuplicateDetector>());
            Assert.Null(encode.GetService<SearchService>());
        }
        Assert.False(Catalogs.Exists(_tmp["a"]));   // an encode worker never creates a catalog of its own

        await using var query = Services(WorkerRoles.Query, _tmp["b"]);
        MediaServices.Start(query);
        Assert.NotNull(query.GetService<SearchService>());
        Assert.Null(query.GetService<EncodeStage>());
        Assert.Null(query.GetService<DuplicateDetector>());

        await using var none = Services(WorkerRoles.None, _tmp["c"]);
        MediaServices.Start(none);
        Assert.Null(none.GetService<LoadedPacks>());
    }

    [Fact]
    public async Task An_encode_only_worker_skips_bytes_the_shared_catalog_holds()
    {
        var data = _tmp["data"];
        var file = _tmp["x.png"];
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", file);
        var sha = Media.Hashing.ContentHash.Sha256Hex(File.ReadAllBytes(file));
        using (var catalog = SqliteCatalog.Open(data))
            catalog.Insert(new CatalogItem(0, sha, file, "image", "png", 10, 32, 32), [],
                new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), sha, file, "image", SubmissionStatus.Indexed, []));

        await using var services = Services(WorkerRoles.Encode, data);
        var stage = services.GetRequiredService<EncodeStage>();
        var r = Assert.Single(await stage.EncodeAsync([new MediaSubmitted(Guid.NewGuid(), Guid.NewGuid(), new MediaSource(Path: file))]));
        Assert.True(r.AlreadyIndexed);
        Assert.Empty(r.Embeddings);
    }

    public void Dispose() => _tmp.Dispose();
}
