using System.CommandLine;
using Media.Cli.Commands;

var root = new RootCommand("media: multimodal media similarity (CLIP-style embeddings, PDQ, near-duplicates, search)")
{
    TokenizeCommand.Create(),
    EmbedCommand.Create(),
    PacksCommand.Create(),
    HashCommand.Create(),
    IngestCommand.Create(),
    SearchCommand.Create(),
    StatsCommand.Create(),
    ServeCommand.Create(),
    EvaluateCommand.Create(),
    BenchCommand.Create(),
    BankCommand.Create(),
    ReprocessCommand.Create(),
    JobsCommand.Create(),
    PackCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
