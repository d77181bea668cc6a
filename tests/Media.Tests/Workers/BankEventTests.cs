using System.Collections.Concurrent;
using MassTransit;
using Media.Application;
using Media.Catalog;
using Media.Contracts.V1;
using Media.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Media.Tests.Workers;

/// <summary>The <see cref="BankMatched"/> integration event, as a subscriber on the bus receives it (in-memory transport, every role in one host).</summary>
public sealed class BankEventTests : IDisposable
{
    readonly TempDir _tmp = new();
    static string Photo(string relative) => Path.Combine(Paths.Shared, "pdq", "images", relative);

    [Fact]
    public async Task New_items_and_exact_duplicates_that_match_a_bank_are_announced_once_per_bank()
    {
        var data = _tmp["data"];
        using (var banks = Catalogs.OpenBanks(data))
        {
            banks.CreateBank("known", "block");
            banks.AddToBank("known", HashBankImport.HashFiles([Photo("bridge-mods/aaa-orig.jpg")]));
        }
        var files = new[] { Photo("bridge-mods/blur-a-lot.jpg"), Photo("labelme-subset/q0122.jpg"), Photo("bridge-mods/blur-a-lot.jpg") };

        var host = MediaHost.Build(new MediaServiceOptions { DataDirectory = data, SequenceGapTimeout = TimeSpan.FromSeconds(5) }, NullLoggerFactory.Instance, trackSubmissions: true);
        var events = new ConcurrentQueue<BankMatched>();
        try
        {
            await host.StartAsync();
            var subscriber = host.Services.GetRequiredService<IBus>().ConnectReceiveEndpoint("bank-events-test", e =>
                e.Handler<BankMatched>(context => { events.Enqueue(context.Message); return Task.CompletedTask; }));
            await subscriber.Ready;
            var results = await Task.WhenAll(await MediaHost.SubmitFilesAsync(host, files));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (events.Count < 2 && DateTime.UtcNow < deadline) await Task.Delay(50);
            await Task.Delay(300); // nothing more may arrive

            Assert.Equal([MediaStatus.Indexed, MediaStatus.Indexed, MediaStatus.Duplicate], results.Select(r => r.Status));
            var byPath = events.ToLookup(e => e.SubmissionId);
            var (edit, unrelated, duplicate) = (results[0], results[1], results[2]);
            Assert.Empty(byPath[unrelated.SubmissionId]);
            Assert.DoesNotContain(unrelated.Flags, f => f.Kind == "bank_match");

            var first = Assert.Single(byPath[edit.SubmissionId]);
            Assert.Equal((edit.CorrelationId, edit.MediaId, edit.Path), (first.CorrelationId, first.MediaId, first.Path));
            Assert.Equal(("bank_match", "known", "block", "pdq", 31.0), (first.Flag.Kind, first.Flag.Bank, first.Flag.Action, first.Flag.Method, first.Flag.Threshold));
            Assert.Null(first.Flag.Concept);
            Assert.Equal(first.Flag, Assert.Single(edit.Flags, f => f.Kind == "bank_match"));
            Assert.Equal(("block", "block", (string?)null), (edit.Action, duplicate.Action, unrelated.Action));

            var again = Assert.Single(byPath[duplicate.SubmissionId]);
            Assert.Equal(first.Flag, again.Flag);
            Assert.Equal(edit.MediaId, again.MediaId);
            Assert.Contains(duplicate.Flags, f => f.Kind == "exact_duplicate");
        }
        finally
        {
            await MediaHost.StopAndDisposeAsync(host);
        }
    }

    [Fact]
    public void A_stored_bank_flag_maps_to_its_event_with_the_bank_in_its_own_field()
    {
        var flag = new CatalogFlag(Media.Domain.FlagKind.BankMatch, "sha256", Distance: 0, Threshold: 0, Label: "known", Action: "block");
        var record = new SubmissionRecord(Guid.NewGuid(), Guid.NewGuid(), new string('a', 64), "/x.jpg", "image", Media.Domain.SubmissionStatus.Duplicate, [flag]);
        var e = Assert.IsType<BankMatched>(Assert.Single(record.Events()));
        Assert.Equal(new MediaFlag("bank_match", "sha256", Distance: 0, Threshold: 0, Action: "block", Bank: "known"), e.Flag);
        Assert.Equal(e.Flag, Assert.Single(record.ToMessage().Flags));
    }

    public void Dispose() => _tmp.Dispose();
}
