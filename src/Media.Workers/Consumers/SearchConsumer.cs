using MassTransit;
using Media.Application;
using Media.Contracts.V1;

namespace Media.Workers.Consumers;

/// <summary>Query role: answers <see cref="SearchRequest"/> with <see cref="SearchResponse"/> (request/response) through <see cref="SearchService"/>.</summary>
public sealed class SearchConsumer(SearchService search) : IConsumer<SearchRequest>
{
    /// <summary>This process, as <c>host/pid</c>: the <see cref="SearchResponse.Node"/> of its answers.</summary>
    public static string NodeName { get; } = $"{Environment.MachineName}/{Environment.ProcessId}";

    public Task Consume(ConsumeContext<SearchRequest> context) => context.RespondAsync(search.Search(context.Message) with { Node = NodeName });
}

/// <summary>The query endpoint: one search per core at a time.</summary>
public sealed class SearchConsumerDefinition : ConsumerDefinition<SearchConsumer>
{
    public SearchConsumerDefinition()
    {
        EndpointName = MediaBus.QueryQueue;
        ConcurrentMessageLimit = Environment.ProcessorCount;
    }
}
