using System.CommandLine;
using Media.Embeddings.Tokenization;

namespace Media.Cli.Commands;

/// <summary><c>media tokenize --vocab FILE --merges FILE [--json] TEXT...</c>: CLIP BPE ids, start and end tokens included, no padding.</summary>
static class TokenizeCommand
{
    public static Command Create()
    {
        var vocab = new Option<FileInfo>("--vocab") { Description = "vocab.json (Hugging Face CLIP format)", Required = true };
        var merges = new Option<FileInfo>("--merges") { Description = "merges.txt (Hugging Face CLIP format)", Required = true };
        var contextLength = new Option<int>("--context-length") { Description = "Maximum tokens including start and end", DefaultValueFactory = _ => ClipBpeTokenizer.DefaultContextLength };
        var json = CommonOptions.Json();
        var texts = new Argument<string[]>("TEXT") { Description = "Texts to tokenize", Arity = ArgumentArity.OneOrMore };
        var command = new Command("tokenize", "Tokenize texts with CLIP's byte-level BPE") { vocab, merges, contextLength, json, texts };
        command.SetAction(parse =>
        {
            ClipBpeTokenizer tokenizer;
            try
            {
                tokenizer = ClipBpeTokenizer.FromFiles(parse.GetValue(vocab)!.FullName, parse.GetValue(merges)!.FullName, parse.GetValue(contextLength));
            }
            catch (Exception ex) when (ex is IOException or FormatException or UnauthorizedAccessException or ArgumentException)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
            foreach (var text in parse.GetValue(texts)!)
            {
                var ids = tokenizer.Encode(text).Ids;
                if (parse.GetValue(json)) CliOutput.Line(new { text, ids });
                else Console.WriteLine(string.Join(' ', ids));
            }
            return 0;
        });
        return command;
    }
}
