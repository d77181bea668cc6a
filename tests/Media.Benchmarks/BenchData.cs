using System.Diagnostics;

namespace Media.Benchmarks;

/// <summary>Benchmark inputs, generated once into the ignored .bench/ folder from the shared PDQ photos.</summary>
public static class BenchData
{
    public static string RepoRoot { get; } = FindRoot();
    public static string Root => Path.Combine(RepoRoot, ".bench");
    static string Bridge => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "pdq", "images", "bridge-mods", "aaa-orig.jpg"));

    /// <summary>A 4000×3000 (12-megapixel) JPEG photo.</summary>
    public static string Jpeg12MP => Make("photo-12mp.jpg", "-vf", "scale=4000:3000:flags=lanczos", "-q:v", "2");
    /// <summary>A 1155×866 (1-megapixel) PNG.</summary>
    public static string Png1MP => Make("photo-1mp.png", "-vf", "scale=1155:866:flags=lanczos");

    static string Make(string name, params string[] args)
    {
        var path = Path.Combine(Root, name);
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(Root);
        Ffmpeg(["-i", Bridge, .. args, path]);
        return path;
    }

    public static byte[] Ffmpeg(string[] args)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-v", "error", "-y" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        using var ms = new MemoryStream();
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("ffmpeg failed: " + err.Result);
        return ms.ToArray();
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Media.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}

/// <summary>A model pack with CLIP ViT-B/32's exact architecture and cost (random weights), generated at bench time.</summary>
public static class SyntheticClip
{
    public static string Directory => Path.Combine(BenchData.Root, "synthetic-clip-vit-b32");

    /// <summary>Generates the graphs with ../shared/tools/make_synthetic_clip.py (once) and writes their pack.json.</summary>
    public static string Ensure()
    {
        var dir = Directory;
        if (File.Exists(Path.Combine(dir, "pack.json"))) return dir;
        System.IO.Directory.CreateDirectory(dir);
        var shared = Path.GetFullPath(Path.Combine(BenchData.RepoRoot, "..", "shared"));
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(shared, "tools", "make_synthetic_clip.py"), "--out", dir, "--matmul" }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException("make_synthetic_clip.py failed: " + err);
        }
        File.Copy(Path.Combine(shared, "clip", "vocab.json"), Path.Combine(dir, "vocab.json"), true);
        File.Copy(Path.Combine(shared, "clip", "merges.txt"), Path.Combine(dir, "merges.txt"), true);
        object F(string name) => new { file = name, sha256 = Media.Embeddings.Packs.ModelPack.Sha256OfFile(Path.Combine(dir, name)) };
        var pack = new
        {
            name = "synthetic-clip-vit-b32", version = "bench", space = "synthetic", dimension = 512, semantic = false,
            description = "CLIP ViT-B/32 architecture and cost with random weights (benchmarks only)",
            image = new { model = F("vision_model.onnx"), input = "pixel_values", output = "image_embeds", preprocess = new { size = 224, cropSize = 224 } },
            text = new
            {
                model = F("text_model.onnx"), input = "input_ids", attentionMask = "attention_mask", output = "text_embeds",
                tokenizer = new { type = "clip-bpe", vocab = F("vocab.json"), merges = F("merges.txt"), contextLength = 77, padId = 49407, padToContextLength = true },
            },
        };
        File.WriteAllText(Path.Combine(dir, "pack.json"), System.Text.Json.JsonSerializer.Serialize(pack, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return dir;
    }

    /// <summary>96 distinct photos (1600×1004 and smaller): the shared PDQ set and mirrored re-encodings of it.</summary>
    public static string[] Photos()
    {
        var dir = Path.Combine(BenchData.Root, "ingest-photos");
        System.IO.Directory.CreateDirectory(dir);
        var sources = System.IO.Directory.GetFiles(Path.GetFullPath(Path.Combine(BenchData.RepoRoot, "..", "shared", "pdq", "images")), "*.jpg", SearchOption.AllDirectories).Order().ToArray();
        var photos = new List<string>();
        for (var i = 0; photos.Count < 96; i++)
        {
            var src = sources[i % sources.Length];
            var dest = Path.Combine(dir, $"{i:D2}-{Path.GetFileName(src)}");
            if (!File.Exists(dest))
            {
                if (i < sources.Length) File.Copy(src, dest);
                else BenchData.Ffmpeg(["-i", src, "-vf", $"{(i / sources.Length % 2 == 1 ? "hflip" : "vflip")},eq=brightness={0.01 * (i % 7)}", "-q:v", "3", dest]);
            }
            photos.Add(dest);
        }
        return photos.ToArray();
    }
}
