using MassTransit;
using Media.Contracts.V1;

namespace Media.Workers.Consumers;

/// <summary>Query role: answers <see cref="SearchRequest"/> with <see cref="SearchResponse"/> (request/response).</summary>
public sealed class SearchConsumer(MediaRuntime runtime) : IConsumer<SearchRequest>
{
    public Task Consume(ConsumeContext<SearchRequest> context) => context.RespondAsync(runtime.Search!.Search(context.Message));
}
