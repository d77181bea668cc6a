using Media.Catalog;
using Media.Contracts.V1;
using Media.Detection;
using Media.Domain;

namespace Media.Tests.Detection;

public sealed class DetectionQueueTests : IDisposable
{
    readonly SqliteDetection _on = new();

    static MediaEncoded Item(int i, string? pdq = null) =>
        new(Guid.NewGuid(), Guid.Empty, $"/{i}.jpg", i.ToString("x64"), false, "image", "jpeg", 100, 10, 10, pdq, 100,
            pdq is null ? null : [pdq, pdq, pdq, pdq, pdq, pdq, pdq, pdq], [new PackEmbedding("p", "1", "space", true, [MathF.Cos(i), MathF.Sin(i)])]);

    /// <summary>While a batch is decided, what arrives waits and goes into the next batches, up to MaxBatch items each,
    /// in the order handed in.</summary>
    [Fact]
    public async Task Items_arriving_during_a_batch_are_decided_in_order_in_batches_of_at_most_MaxBatch()
    {
        using var firstBatchHeld = new ManualResetEventSlim();
        var batches = new List<int>();
        using var queue = new DetectionQueue(_on.Detector, maxBatch: 4, onBatch: b =>
        {
            lock (batches) batches.Add(b.Items);
            firstBatchHeld.Wait();
        });
        var first = queue.ProcessAsync(Item(0));
        await WaitUntil(() => { lock (batches) return batches.Count == 1; });
        var rest = Enumerable.Range(1, 10).Select(i => queue.ProcessAsync(Item(i))).ToArray();
        firstBatchHeld.Set();
        var results = await Task.WhenAll([first, .. rest]);

        Assert.Equal([1, 4, 4, 2], batches);
        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"/{i}.jpg"), results.Select(r => r.Path));
        Assert.All(results, r => Assert.Equal(SubmissionStatus.Indexed, r.Status));
        // Catalogued in the order handed in.
        Assert.Equal(Enumerable.Range(0, 11).Select(i => i.ToString("x64")), _on.Catalog.Items().Select(i => i.Id));
    }

    [Fact]
    public async Task A_failing_item_faults_its_own_task_only()
    {
        using var queue = new DetectionQueue(_on.Detector);
        var tasks = new[] { queue.ProcessAsync(Item(1)), queue.ProcessAsync(Item(2, pdq: "not a hash")), queue.ProcessAsync(Item(3)) };
        Assert.Equal(SubmissionStatus.Indexed, (await tasks[0]).Status);
        await Assert.ThrowsAsync<FormatException>(() => tasks[1]);
        Assert.Equal(SubmissionStatus.Indexed, (await tasks[2]).Status);
    }

    [Fact]
    public void Dispose_decides_what_was_handed_in_and_then_refuses_more()
    {
        var queue = new DetectionQueue(_on.Detector);
        var tasks = Enumerable.Range(0, 40).Select(i => queue.ProcessAsync(Item(i))).ToArray();
        queue.Dispose();
        Assert.All(tasks, t => Assert.Equal(SubmissionStatus.Indexed, t.Result.Status));
        Assert.Throws<ObjectDisposedException>(() => { _ = queue.ProcessAsync(Item(99)); });
        Assert.Equal(40, _on.Store.Count);
    }

    static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition());
    }

    public void Dispose() => _on.Dispose();
}
