using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ConnectionType = LiteDB.ConnectionType;
using Media.Catalog;
using Media.Domain;

namespace Media.Benchmarks;

/// <summary>
/// The embedded catalog stores measured on the same work, through <see cref="IMediaCatalog"/> only, one
/// <see cref="IMediaCatalog.Insert"/> (one transaction) per item as the service does: an image item with a PDQ hash and
/// its 8 dihedral hashes, one 512-d embedding, and an indexed submission with 0 or 1 flag.
/// <code>
/// dotnet run -c Release --project tests/Media.Benchmarks -- catalog --n 1000000 --dim 512 --dir /tmp/cat [--store sqlite|litedb|litedb-direct|both|all] [--json]
///   [--phases insert,reopen,kill,concurrent,verify] [--kills 10] [--concurrent-seconds 30] [--max-insert-seconds S [--fill]] [--tail-seconds 120 | --tail-items K] [--resume]
/// </code>
/// Phases, per store, in a folder of its own (DIR/STORE), the stores back to back:
/// <list type="bullet">
/// <item>insert: N items into a new catalog in this process; items/s overall, over the last 10%, per tenth, and the same
/// at 10⁵; then, for --tail-seconds, items/s on the catalog of N items. With --max-insert-seconds the one-by-one
/// inserts stop early, and --fill completes the catalog to N in large transactions (LiteDB only; see InsertPhase).</item>
/// <item>reopen: <c>Open</c> + <c>LastSeq</c>, and <c>Open</c> + every embedding through <c>Embeddings()</c> (a service start); the files' size.</item>
/// <item>kill: a writer child process (<c>catalog-writer</c>) inserts and prints every Seq after Insert returns; it
/// gets SIGKILL, at a random moment or right as the parent reads an acknowledgement; reopen and check that every
/// acknowledged item is there with the same Seq and that every item written since has its embedding and its submission.</item>
/// <item>concurrent: a writer child alone, then with a reader child (<c>catalog-reader</c>) calling <c>Stats()</c>
/// and <c>Items()</c> on the same catalog; the reader's latency and errors, the writer's rate alone and beside it.</item>
/// <item>verify: the whole catalog: every item has its embedding, sequences increase, Stats agrees.</item>
/// </list>
/// "litedb" is <see cref="LiteDbCatalog.Open(string)"/> (shared mode); "litedb-direct" is LiteDB's direct mode.
/// </summary>
public static class CatalogStoreBench
{
    public static int Run(string[] args)
    {
        try
        {
            var o = new Options(args);
            return args[0] switch
            {
                "catalog" => Bench(o),
                "catalog-writer" => Writer(o),
                "catalog-reader" => Reader(o),
                "catalog-litedb-floor" => LiteDbFloor(o),
                _ => throw new ArgumentException($"unknown mode {args[0]}"),
            };
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }
    }

    sealed class Options
    {
        readonly Dictionary<string, string> _values = new();
        public Options(string[] args)
        {
            for (var i = 1; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument {args[i]}");
                var key = args[i][2..];
                _values[key] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
            }
        }
        public string Str(string key, string? fallback = null) => _values.TryGetValue(key, out var v) ? v : fallback ?? throw new ArgumentException($"--{key} is required");
        public long Long(string key, long fallback) => _values.TryGetValue(key, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;
        public bool Flag(string key) => _values.ContainsKey(key);
    }

    static IMediaCatalog OpenStore(string store, string dir) => store switch
    {
        "sqlite" => SqliteCatalog.Open(dir),
        "litedb" => LiteDbCatalog.Open(dir),
        "litedb-direct" => LiteDbCatalog.Open(dir, ConnectionType.Direct),
        _ => throw new ArgumentException($"unknown store {store} (sqlite, litedb, litedb-direct)"),
    };

    // ---- the work -------------------------------------------------------------------------------------------------

    static readonly PackKey Pack = new("clip-vit-b32", "xenova-d15189d");

    static string IdOf(long i) => Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));
    static Guid SubmissionOf(long i) => new(SHA256.HashData(BitConverter.GetBytes(~i)).AsSpan(0, 16));
    static string PathOf(long i) => $"/bench/{i}.jpg";
    static long IndexOf(string path) => long.Parse(path.AsSpan(7, path.Length - 11), CultureInfo.InvariantCulture);
    static int FlagsOf(long i) => (int)(i & 1);

    /// <summary>Item i: deterministic, so that a checker in another process knows what item i should look like.</summary>
    static (CatalogItem Item, CatalogEmbedding[] Embeddings, SubmissionRecord Submission) Make(long i, int dim)
    {
        var rng = new Random(unchecked((int)(i * 2654435761L)));
        var pdq = new byte[32];
        var dihedral = new byte[256];
        rng.NextBytes(pdq);
        rng.NextBytes(dihedral);
        var v = new float[dim];
        var norm = 0.0;
        for (var k = 0; k < dim; k++)
        {
            v[k] = (float)(rng.NextDouble() - 0.5);
            norm += v[k] * v[k];
        }
        var scale = (float)(1 / Math.Sqrt(norm));
        for (var k = 0; k < dim; k++) v[k] *= scale;
        var id = IdOf(i);
        var item = new CatalogItem(0, id, PathOf(i), "image", "jpeg", 150_000 + i % 100_000, 1024, 768, pdq, 90, dihedral);
        CatalogFlag[] flags = FlagsOf(i) == 1 ? [new CatalogFlag(FlagKind.NearDuplicate, FlagMethods.Pdq, IdOf(i - 1), PathOf(i - 1), 12, 31, Action: "review")] : [];
        var submission = new SubmissionRecord(SubmissionOf(i), Guid.NewGuid(), id, item.Path, "image", SubmissionStatus.Indexed, flags);
        return (item, [new CatalogEmbedding(Pack, "openai-clip-vit-b32", true, v)], submission);
    }

    // ---- the benchmark ----------------------------------------------------------------------------------------------

    static int Bench(Options o)
    {
        var n = o.Long("n", 1_000_000);
        var dim = (int)o.Long("dim", 512);
        var root = Path.GetFullPath(o.Str("dir"));
        var stores = o.Str("store", "both") switch
        {
            "both" => new[] { "sqlite", "litedb" },
            "all" => ["sqlite", "litedb", "litedb-direct"],
            var s => s.Split(','),
        };
        var phases = o.Str("phases", "insert,reopen,kill,concurrent,verify").Split(',').ToHashSet();
        var kills = (int)o.Long("kills", 10);
        var concurrentSeconds = (int)o.Long("concurrent-seconds", 30);
        var maxInsertSeconds = (double)o.Long("max-insert-seconds", long.MaxValue / 2);
        var tailSeconds = (double)o.Long("tail-seconds", 120);
        var tailItems = o.Long("tail-items", 0);
        var results = new List<Dictionary<string, object?>>();
        var machine = new Dictionary<string, object?>
        {
            ["cores"] = Environment.ProcessorCount, ["os"] = RuntimeInformation.OSDescription, ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["filesystem"] = FileSystemOf(root), ["started"] = DateTimeOffset.UtcNow.ToString("O"),
        };
        foreach (var store in stores)
        {
            var dir = Path.Combine(root, store);
            // Each phase's results are saved as it ends; with --resume, the phases a saved file says are done are skipped.
            var file = Path.Combine(root, $"{store}.result.json");
            var r = o.Flag("resume") && File.Exists(file)
                ? JsonSerializer.Deserialize<Dictionary<string, object?>>(File.ReadAllText(file), Json)!
                : new Dictionary<string, object?> { ["store"] = store, ["n"] = n, ["dim"] = dim };
            var done = r.GetValueOrDefault("phases_done") is JsonElement { ValueKind: JsonValueKind.Array } saved ? saved.EnumerateArray().Select(e => e.GetString()!).ToList() : [];
            results.Add(r);
            Log($"== {store} in {dir}{(done.Count > 0 ? $", resuming after {string.Join(", ", done)}" : "")}");
            void Phase(string name, Action run)
            {
                if (!phases.Contains(name) || done.Contains(name)) return;
                r[$"loadavg_{name}"] = LoadAverage();
                run();
                done.Add(name);
                r["phases_done"] = done.ToArray();
                r["files"] = Files(dir);
                Directory.CreateDirectory(root);
                File.WriteAllText(file, JsonSerializer.Serialize(r, Json));
            }
            Phase("insert", () => InsertPhase(store, dir, n, dim, maxInsertSeconds, o.Flag("fill"), tailSeconds, tailItems, r));
            Phase("reopen", () => ReopenPhase(store, dir, r));
            Phase("kill", () => KillPhase(store, dir, dim, kills, r));
            Phase("concurrent", () => ConcurrentPhase(store, dir, dim, concurrentSeconds, r));
            Phase("verify", () => VerifyPhase(store, dir, dim, r));
            r["loadavg_end"] = LoadAverage();
            Log($"{store}: {JsonSerializer.Serialize(r, JsonLine)}");
        }
        machine["finished"] = DateTimeOffset.UtcNow.ToString("O");
        var report = new Dictionary<string, object?> { ["machine"] = machine, ["results"] = results };
        if (o.Flag("json")) Console.WriteLine(JsonSerializer.Serialize(report, Json));
        else PrintTable(results);
        return 0;
    }

    /// <summary>
    /// One Insert per item, 0 … N−1, timed every 1000 items; stops early after <paramref name="maxSeconds"/>. Then, when
    /// stopped early and <paramref name="fill"/>: fills the catalog up to N in transactions of 10 000 items (LiteDB only,
    /// through <see cref="LiteDbCatalog.InsertBatch"/>: not the service's path, only a way to have a catalog of N items
    /// to measure the rest on). Then, for <paramref name="tailItems"/> items (when 0: for <paramref name="tailSeconds"/>), one
    /// Insert per item again: the rate at N (a fixed count leaves both stores with as many items for what follows).
    /// </summary>
    static void InsertPhase(string store, string dir, long n, int dim, double maxSeconds, bool fill, double tailSeconds, long tailItems, Dictionary<string, object?> r)
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        var step = Math.Max(1, Math.Min(1000, n / 100));
        var marks = new List<(long Count, double Seconds)> { (0, 0) };
        var sw = Stopwatch.StartNew();
        long reached = 0;
        using (var catalog = OpenStore(store, dir))
        {
            r["insert_open_s"] = sw.Elapsed.TotalSeconds;
            sw.Restart();
            for (long i = 0; i < n; i++)
            {
                var (item, embeddings, submission) = Make(i, dim);
                if (catalog.Insert(item, embeddings, submission) is null) throw new InvalidOperationException($"item {i} refused as a duplicate");
                reached = i + 1;
                if (reached % step != 0 && reached != n) continue;
                marks.Add((reached, sw.Elapsed.TotalSeconds));
                if (reached % (n / 20) == 0 || marks.Count % 10 == 0)
                    Log($"{store}: {reached:N0} items, {reached / sw.Elapsed.TotalSeconds:F0}/s overall, {Rate(marks, Math.Max(0, marks.Count - 11), marks.Count - 1):F0}/s over the last {Math.Min(10, marks.Count - 1) * step} items, {Megabytes(dir):F0} MB");
                if (sw.Elapsed.TotalSeconds > maxSeconds) break;
            }
        }
        reached = marks[^1].Count;
        double At(long count) => marks.First(m => m.Count >= count).Seconds;
        double RateBetween(long from, long to) => (At(to) - At(from)) is var t && t > 0 ? (marks.First(m => m.Count >= to).Count - marks.First(m => m.Count >= from).Count) / t : double.NaN;
        var total = marks[^1].Seconds;
        r["insert_items"] = reached;
        r["insert_seconds"] = total;
        r["insert_rate"] = reached / total;
        r["insert_rate_last10pct"] = RateBetween(reached - reached / 10, reached);
        r["insert_rate_first10pct"] = RateBetween(0, reached / 10);
        r["insert_rate_by_tenth"] = Enumerable.Range(0, 10).Select(t => Math.Round(RateBetween(reached * t / 10, reached * (t + 1) / 10), 1)).ToArray();
        if (reached >= 100_000 && n > 100_000)
        {
            r["insert_rate_at_1e5"] = 100_000 / At(100_000);
            r["insert_rate_at_1e5_last10pct"] = RateBetween(90_000, 100_000);
        }
        r["size_bytes_after_insert"] = SizeOf(dir);
        Log($"{store}: inserted {reached:N0} one by one in {total:F1} s: {reached / total:F1}/s, last 10% {r["insert_rate_last10pct"]:F1}/s, {Megabytes(dir):F0} MB");

        if (reached < n && fill)
        {
            var fsw = Stopwatch.StartNew();
            using var catalog = OpenStore(store, dir);
            for (var from = reached; from < n; from += 10_000)
            {
                var to = Math.Min(n, from + 10_000);
                var items = Enumerable.Range(0, (int)(to - from)).Select(k =>
                {
                    var (item, embeddings, submission) = Make(from + k, dim);
                    return (item, (IReadOnlyList<CatalogEmbedding>)embeddings, submission);
                });
                var added = catalog is LiteDbCatalog lite
                    ? lite.InsertBatch(items)
                    : items.Count(x => catalog.Insert(x.item, x.Item2, x.submission) is not null); // other stores: one by one, untimed
                if (added != to - from) throw new InvalidOperationException($"filled {added} of {to - from}");
                if (to % 100_000 == 0) Log($"{store}: filled to {to:N0} in {fsw.Elapsed.TotalSeconds:F0} s, {Megabytes(dir):F0} MB");
            }
            r["fill_from"] = reached;
            r["fill_seconds"] = fsw.Elapsed.TotalSeconds;
            reached = n;
        }
        r["items_after_insert"] = reached;

        if (tailSeconds > 0 || tailItems > 0)
        {
            using var catalog = OpenStore(store, dir);
            var tsw = Stopwatch.StartNew();
            long count = 0;
            for (var i = reached; tailItems > 0 ? count < tailItems : tsw.Elapsed.TotalSeconds < tailSeconds; i++, count++)
            {
                var (item, embeddings, submission) = Make(i, dim);
                if (catalog.Insert(item, embeddings, submission) is null) throw new InvalidOperationException($"item {i} refused as a duplicate");
            }
            r["insert_rate_at_n"] = count / tsw.Elapsed.TotalSeconds;
            r["insert_at_n_items"] = count;
            Log($"{store}: at {reached:N0} items, {count} more one by one in {tsw.Elapsed.TotalSeconds:F0} s: {r["insert_rate_at_n"]:F1}/s");
        }
    }

    static double Rate(List<(long Count, double Seconds)> marks, int from, int to) =>
        from < 0 ? double.NaN : (marks[to].Count - marks[from].Count) / (marks[to].Seconds - marks[from].Seconds);

    static void ReopenPhase(string store, string dir, Dictionary<string, object?> r)
    {
        r["size_bytes"] = SizeOf(dir);
        var opens = new List<double>();
        long last = 0;
        for (var k = 0; k < 3; k++)
        {
            var sw = Stopwatch.StartNew();
            using var catalog = OpenStore(store, dir);
            last = catalog.LastSeq;
            opens.Add(sw.Elapsed.TotalSeconds);
        }
        r["reopen_open_s"] = opens.ToArray();
        var scans = new List<double>();
        long count = 0;
        for (var k = 0; k < 2; k++)
        {
            var sw = Stopwatch.StartNew();
            using var catalog = OpenStore(store, dir);
            count = 0;
            var check = 0.0;
            foreach (var (_, e) in catalog.Embeddings())
            {
                count++;
                check += e.Vector[0];
            }
            scans.Add(sw.Elapsed.TotalSeconds);
            Log($"{store}: open + scan of {count:N0} embeddings in {scans[^1]:F1} s (checksum {check:F3})");
        }
        r["reopen_scan_s"] = scans.ToArray();
        r["reopen_scanned"] = count;
        using (var catalog = OpenStore(store, dir))
        {
            var sw = Stopwatch.StartNew();
            var stats = catalog.Stats();
            r["stats_s"] = sw.Elapsed.TotalSeconds;
            r["stats_items"] = stats.Items;
        }
        r["last_seq"] = last;
        r["size_bytes_after_reopen"] = SizeOf(dir);
        Log($"{store}: open {string.Join(", ", opens.Select(s => s.ToString("F3", CultureInfo.InvariantCulture)))} s; open+scan {string.Join(", ", scans.Select(s => s.ToString("F1", CultureInfo.InvariantCulture)))} s; stats {r["stats_s"]:F2} s");
    }

    // ---- child processes ---------------------------------------------------------------------------------------------

    /// <summary>Inserts items start, start+1, … and prints "seq index" after each Insert returns; stops after --seconds (0: never).</summary>
    static int Writer(Options o)
    {
        var store = o.Str("store");
        var dir = o.Str("dir");
        var start = o.Long("start", 0);
        var dim = (int)o.Long("dim", 512);
        var seconds = o.Long("seconds", 0);
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 12) { AutoFlush = true };
        using var catalog = OpenStore(store, dir);
        stdout.WriteLine("#open");
        var sw = Stopwatch.StartNew();
        long written = 0;
        for (var i = start; seconds == 0 || sw.Elapsed.TotalSeconds < seconds; i++)
        {
            var (item, embeddings, submission) = Make(i, dim);
            var stored = catalog.Insert(item, embeddings, submission) ?? throw new InvalidOperationException($"item {i} refused as a duplicate");
            stdout.WriteLine($"{stored.Seq} {i}");
            written++;
        }
        stdout.WriteLine($"#done {written} {sw.Elapsed.TotalSeconds.ToString("R", CultureInfo.InvariantCulture)}");
        return 0;
    }

    /// <summary>For --seconds: Stats(), then Items() over the last 1000 sequences, again and again; prints a JSON summary.</summary>
    static int Reader(Options o)
    {
        var store = o.Str("store");
        var dir = o.Str("dir");
        var seconds = o.Long("seconds", 10);
        var statsMs = new List<double>();
        var itemsMs = new List<double>();
        var errors = new Dictionary<string, int>();
        long lastItems = 0, regressions = 0, rounds = 0;
        var sw = Stopwatch.StartNew();
        var openSw = Stopwatch.StartNew();
        IMediaCatalog? catalog = null;
        try
        {
            catalog = OpenStore(store, dir);
        }
        catch (Exception ex)
        {
            errors[$"open: {ex.GetType().Name}: {First(ex.Message)}"] = 1;
        }
        var openMs = openSw.Elapsed.TotalMilliseconds;
        while (catalog is not null && sw.Elapsed.TotalSeconds < seconds)
        {
            rounds++;
            try
            {
                var t = Stopwatch.StartNew();
                var s = catalog.Stats();
                statsMs.Add(t.Elapsed.TotalMilliseconds);
                if (s.Items < lastItems) regressions++;
                lastItems = s.Items;
                t.Restart();
                var from = Math.Max(0, catalog.LastSeq - 1000);
                var count = 0;
                foreach (var item in catalog.Items(from))
                {
                    if (item.Pdq is null) throw new InvalidDataException($"item {item.Seq} has no PDQ hash");
                    count++;
                }
                itemsMs.Add(t.Elapsed.TotalMilliseconds);
            }
            catch (Exception ex)
            {
                var key = $"{ex.GetType().Name}: {First(ex.Message)}";
                errors[key] = errors.GetValueOrDefault(key) + 1;
                Thread.Sleep(50);
            }
        }
        try { catalog?.Dispose(); }
        catch (Exception ex) { errors[$"dispose: {ex.GetType().Name}: {First(ex.Message)}"] = 1; }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["open_ms"] = openMs, ["rounds"] = rounds, ["stats"] = Latency(statsMs), ["items_tail"] = Latency(itemsMs),
            ["errors"] = errors, ["items_went_down"] = regressions, ["last_items"] = lastItems,
        }));
        return 0;
    }

    static string First(string message) => message.Split('\n')[0].Trim();

    static Dictionary<string, object?> Latency(List<double> ms)
    {
        if (ms.Count == 0) return new() { ["count"] = 0 };
        var s = ms.Order().ToArray();
        double P(double q) => s[Math.Min(s.Length - 1, (int)(q * s.Length))];
        return new() { ["count"] = s.Length, ["p50_ms"] = Math.Round(P(0.5), 2), ["p95_ms"] = Math.Round(P(0.95), 2), ["max_ms"] = Math.Round(s[^1], 2) };
    }

    /// <summary>A child process of this binary, with its stdout read line by line on a thread of its own.</summary>
    sealed class Child : IDisposable
    {
        readonly Process _p;
        readonly Thread _reader;
        readonly List<string> _lines = [];
        readonly StringBuilder _stderr = new();
        public volatile bool KillOnNextAck;
        public volatile bool KilledOnAck;
        readonly ManualResetEventSlim _opened = new();
        public readonly Stopwatch Clock = Stopwatch.StartNew();
        public double FirstAckSeconds = double.NaN, LastAckSeconds = double.NaN;

        public Child(params string[] args)
        {
            var self = Environment.ProcessPath!;
            var psi = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(CatalogStoreBench).Assembly.Location);
            foreach (var a in args) psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            _p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
            _p.BeginErrorReadLine();
            _reader = new Thread(Read) { IsBackground = true };
            _reader.Start();
        }

        void Read()
        {
            string? line;
            while ((line = _p.StandardOutput.ReadLine()) is not null)
            {
                if (line.Length > 0 && char.IsAsciiDigit(line[0]))
                {
                    if (KillOnNextAck && !KilledOnAck)
                    {
                        KilledOnAck = true;
                        Kill();
                    }
                    var t = Clock.Elapsed.TotalSeconds;
                    if (double.IsNaN(FirstAckSeconds)) FirstAckSeconds = t;
                    LastAckSeconds = t;
                }
                lock (_lines) _lines.Add(line);
                if (line == "#open" || line.Length > 0 && char.IsAsciiDigit(line[0])) _opened.Set();
            }
            _opened.Set();
        }

        public bool WaitOpened(TimeSpan timeout) => _opened.Wait(timeout);

        public int AckCount { get { lock (_lines) return _lines.Count(l => l.Length > 0 && char.IsAsciiDigit(l[0])); } }

        public void Kill()
        {
            try { _p.Kill(); } // SIGKILL on Linux
            catch (InvalidOperationException) { }
        }

        /// <summary>Waits for the exit and the end of its output; returns (exit code, stdout lines, stderr).</summary>
        public (int Code, List<string> Lines, string Stderr) Finish(TimeSpan timeout)
        {
            if (!_p.WaitForExit(timeout)) Kill();
            _p.WaitForExit();
            _reader.Join();
            lock (_lines) lock (_stderr) return (_p.ExitCode, [.. _lines], _stderr.ToString());
        }

        public void Dispose() => _p.Dispose();
    }

    /// <summary>A first item index for a writer child that no earlier run on the catalog has used (the bulk load uses 0 … N−1).</summary>
    static long FreshStart() => 1_000_000_000_000L + Random.Shared.NextInt64(1_000_000_000L) * 1_000_000L;

    static List<(long Seq, long Index)> Acks(IEnumerable<string> lines) =>
        lines.Where(l => l.Length > 0 && char.IsAsciiDigit(l[0]))
            .Select(l => l.Split(' ')).Select(p => (long.Parse(p[0], CultureInfo.InvariantCulture), long.Parse(p[1], CultureInfo.InvariantCulture))).ToList();

    // ---- kill -9 ---------------------------------------------------------------------------------------------------

    static void KillPhase(string store, string dir, int dim, int kills, Dictionary<string, object?> r)
    {
        var rng = new Random(42);
        var rounds = new List<Dictionary<string, object?>>();
        long totalAcked = 0, totalLost = 0, totalIncomplete = 0, totalOpenFailures = 0;
        for (var k = 0; k < kills; k++)
        {
            var onAck = k % 2 == 1;
            long before;
            try
            {
                using var c = OpenStore(store, dir);
                before = c.LastSeq;
            }
            catch (Exception ex)
            {
                rounds.Add(new() { ["round"] = k, ["open_before"] = $"{ex.GetType().Name}: {First(ex.Message)}" });
                totalOpenFailures++;
                break;
            }
            var start = FreshStart();
            using var child = new Child("catalog-writer", "--store", store, "--dir", dir, "--start", start.ToString(CultureInfo.InvariantCulture), "--dim", dim.ToString(CultureInfo.InvariantCulture));
            if (!child.WaitOpened(TimeSpan.FromMinutes(5))) throw new InvalidOperationException("the writer did not open the catalog in 5 minutes");
            var delay = TimeSpan.FromSeconds(0.3 + 2.2 * rng.NextDouble());
            Thread.Sleep(delay);
            if (onAck) child.KillOnNextAck = true;
            else child.Kill();
            var (code, lines, stderr) = child.Finish(TimeSpan.FromSeconds(30));
            var acks = Acks(lines);
            var round = new Dictionary<string, object?>
            {
                ["round"] = k, ["kill"] = onAck ? "on-ack" : "random", ["after_s"] = Math.Round(delay.TotalSeconds, 2), ["exit"] = code,
                ["acked"] = acks.Count, ["stderr"] = stderr.Length == 0 ? null : First(stderr),
            };
            totalAcked += acks.Count;
            var sw = Stopwatch.StartNew();
            try
            {
                using var c = OpenStore(store, dir);
                round["reopen_s"] = sw.Elapsed.TotalSeconds;
                var lost = acks.Where(a => c.Find(IdOf(a.Index))?.Seq != a.Seq).ToList();
                round["lost"] = lost.Count;
                if (lost.Count > 0) round["lost_first"] = $"seq {lost[0].Seq} (of acked seqs {acks[0].Seq}–{acks[^1].Seq}; last acked {acks[^1].Seq})";
                totalLost += lost.Count;
                var (present, incomplete, problems) = CheckSince(c, before, dim);
                round["present"] = present;
                round["committed_unacked"] = present - (acks.Count - lost.Count);
                round["incomplete"] = incomplete;
                if (problems.Count > 0) round["problems"] = problems.Take(3).ToArray();
                totalIncomplete += incomplete;
            }
            catch (Exception ex)
            {
                round["reopen"] = $"{ex.GetType().Name}: {First(ex.Message)}";
                totalOpenFailures++;
            }
            rounds.Add(round);
            Log($"{store}: kill {k}: {JsonSerializer.Serialize(round, JsonLine)}");
            if (round.ContainsKey("reopen")) break;
        }
        r["kill_rounds"] = rounds;
        r["kill_acked"] = totalAcked;
        r["kill_lost"] = totalLost;
        r["kill_incomplete"] = totalIncomplete;
        r["kill_open_failures"] = totalOpenFailures;
    }

    /// <summary>Items after a sequence: each must have one embedding of the right size and its submission with its flags.</summary>
    static (long Present, long Incomplete, List<string> Problems) CheckSince(IMediaCatalog c, long after, int dim)
    {
        var embedded = new Dictionary<long, int>();
        foreach (var (seq, e) in c.Embeddings(after))
            embedded[seq] = embedded.GetValueOrDefault(seq) + (e.Vector.Length == dim ? 1 : 1000);
        long present = 0, incomplete = 0, previous = after;
        var problems = new List<string>();
        foreach (var item in c.Items(after))
        {
            present++;
            var i = IndexOf(item.Path);
            var s = c.FindSubmission(SubmissionOf(i));
            string? problem = null;
            if (item.Seq <= previous) problem = $"seq {item.Seq} after {previous}";
            else if (item.Id != IdOf(i)) problem = $"seq {item.Seq}: id does not match its path";
            else if (embedded.GetValueOrDefault(item.Seq) != 1) problem = $"seq {item.Seq}: {embedded.GetValueOrDefault(item.Seq)} embeddings";
            else if (s is null) problem = $"seq {item.Seq}: no submission";
            else if (s.MediaId != item.Id || s.Flags.Count != FlagsOf(i)) problem = $"seq {item.Seq}: submission with {s.Flags.Count} flags";
            else if (item.Pdq?.Length != 32 || item.PdqDihedral?.Length != 256) problem = $"seq {item.Seq}: hashes";
            previous = item.Seq;
            if (problem is null) continue;
            incomplete++;
            problems.Add(problem);
        }
        return (present, incomplete, problems);
    }

    // ---- a second process reading --------------------------------------------------------------------------------------

    static void ConcurrentPhase(string store, string dir, int dim, int seconds, Dictionary<string, object?> r)
    {
        var ds = dim.ToString(CultureInfo.InvariantCulture);
        var ss = seconds.ToString(CultureInfo.InvariantCulture);
        // The writer alone, then the writer with a reader beside it (same duration, the reader starting with the first acknowledgement).
        double WriterRate(List<string> lines) =>
            lines.FirstOrDefault(l => l.StartsWith("#done", StringComparison.Ordinal)) is { } done
                ? double.Parse(done.Split(' ')[1], CultureInfo.InvariantCulture) / double.Parse(done.Split(' ')[2], CultureInfo.InvariantCulture)
                : double.NaN;

        using (var alone = new Child("catalog-writer", "--store", store, "--dir", dir, "--start", FreshStart().ToString(CultureInfo.InvariantCulture), "--dim", ds, "--seconds", ss))
        {
            var (code, lines, stderr) = alone.Finish(TimeSpan.FromSeconds(seconds + 300));
            r["concurrent_writer_alone_rate"] = WriterRate(lines);
            if (code != 0) r["concurrent_writer_alone_error"] = First(stderr);
        }
        using var writer = new Child("catalog-writer", "--store", store, "--dir", dir, "--start", FreshStart().ToString(CultureInfo.InvariantCulture), "--dim", ds, "--seconds", ss);
        if (!writer.WaitOpened(TimeSpan.FromMinutes(5))) throw new InvalidOperationException("the writer did not open the catalog in 5 minutes");
        while (writer.AckCount == 0 && writer.Clock.Elapsed.TotalSeconds < 60) Thread.Sleep(10);
        using var reader = new Child("catalog-reader", "--store", store, "--dir", dir, "--seconds", (seconds - 5).ToString(CultureInfo.InvariantCulture));
        var (rcode, rlines, rstderr) = reader.Finish(TimeSpan.FromSeconds(seconds + 600));
        var (wcode, wlines, wstderr) = writer.Finish(TimeSpan.FromSeconds(seconds + 600));
        r["concurrent_writer_with_reader_rate"] = WriterRate(wlines);
        if (wcode != 0) r["concurrent_writer_error"] = First(wstderr);
        var summary = rlines.LastOrDefault(l => l.StartsWith('{'));
        r["concurrent_reader"] = summary is null ? new Dictionary<string, object?> { ["exit"] = rcode, ["stderr"] = First(rstderr) } : JsonSerializer.Deserialize<JsonElement>(summary);
        Log($"{store}: writer alone {r["concurrent_writer_alone_rate"]:F0}/s, with a reader {r["concurrent_writer_with_reader_rate"]:F0}/s; reader {summary ?? rstderr}");
    }

    // ---- the whole catalog ------------------------------------------------------------------------------------------

    static void VerifyPhase(string store, string dir, int dim, Dictionary<string, object?> r)
    {
        try
        {
            var sw = Stopwatch.StartNew();
            using var c = OpenStore(store, dir);
            long items = 0, previous = 0, bad = 0;
            using var embeddings = c.Embeddings().GetEnumerator();
            var more = embeddings.MoveNext();
            var itemsList = new List<(long Seq, string Id)>();
            // Items and embeddings are both in sequence order: walk them side by side.
            foreach (var item in c.Items())
            {
                items++;
                if (item.Seq <= previous) bad++;
                previous = item.Seq;
                var found = 0;
                while (more && embeddings.Current.Seq < item.Seq) { bad++; more = embeddings.MoveNext(); }
                while (more && embeddings.Current.Seq == item.Seq)
                {
                    if (embeddings.Current.Embedding.Vector.Length != dim) bad++;
                    found++;
                    more = embeddings.MoveNext();
                }
                if (found != 1) bad++;
            }
            while (more) { bad++; more = embeddings.MoveNext(); }
            embeddings.Dispose();
            var stats = c.Stats();
            r["verify_items"] = items;
            r["verify_problems"] = bad + (stats.Items == items ? 0 : 1) + (stats.Packs.GetValueOrDefault(Pack.ToString()) == items ? 0 : 1);
            r["verify_s"] = sw.Elapsed.TotalSeconds;
        }
        catch (Exception ex)
        {
            r["verify_error"] = $"{ex.GetType().Name}: {First(ex.Message)}";
        }
        Log($"{store}: verify {r.GetValueOrDefault("verify_items")} items, {r.GetValueOrDefault("verify_problems")} problems {r.GetValueOrDefault("verify_error")}");
    }

    // ---- what LiteDB could do at best -------------------------------------------------------------------------------

    /// <summary>
    /// Not a catalog: the least that LiteDB can write per item in a transaction of its own: one collection, one document
    /// (the item's hashes and its 512-d vector), the unique index on the id, nothing else. A bound on what any layout
    /// of the catalog on LiteDB could reach, to tell the engine's cost from the layout's.
    /// </summary>
    static int LiteDbFloor(Options o)
    {
        var n = o.Long("n", 5000);
        var dim = (int)o.Long("dim", 512);
        var dir = Path.GetFullPath(o.Str("dir"));
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.CreateDirectory(dir);
        using var db = new LiteDB.LiteDatabase(new LiteDB.ConnectionString { Filename = Path.Combine(dir, "floor.litedb"), Connection = ConnectionType.Direct });
        var col = db.GetCollection("media", LiteDB.BsonAutoId.Int64);
        col.EnsureIndex("id", "$.id", unique: true);
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < n; i++)
        {
            var (item, embeddings, _) = Make(i, dim);
            db.BeginTrans();
            col.Insert(new LiteDB.BsonDocument
            {
                ["id"] = item.Id, ["path"] = item.Path, ["pdq"] = item.Pdq, ["pdqDihedral"] = item.PdqDihedral,
                ["vector"] = MemoryMarshal.AsBytes(embeddings[0].Vector.AsSpan()).ToArray(),
            });
            db.Commit();
        }
        var seconds = sw.Elapsed.TotalSeconds;
        Console.WriteLine(JsonSerializer.Serialize(new { store = "litedb-floor", n, seconds, rate = n / seconds }));
        return 0;
    }

    // ---- files and output -------------------------------------------------------------------------------------------

    /// <summary>The 1, 5 and 15 minute load averages: the machine is shared, and the numbers mean little without them.</summary>
    static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }

    static long SizeOf(string dir) => Directory.Exists(dir) ? new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length) : 0;
    static double Megabytes(string dir) => SizeOf(dir) / 1048576.0;
    static Dictionary<string, long> Files(string dir) =>
        Directory.Exists(dir) ? new DirectoryInfo(dir).EnumerateFiles().ToDictionary(f => f.Name, f => f.Length) : [];

    static string FileSystemOf(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            var best = "";
            var type = "?";
            foreach (var line in File.ReadLines("/proc/mounts"))
            {
                var p = line.Split(' ');
                if (p.Length > 2 && full.StartsWith(p[1], StringComparison.Ordinal) && p[1].Length > best.Length) (best, type) = (p[1], $"{p[2]} on {p[1]} ({p[0]})");
            }
            return type;
        }
        catch (IOException) { return "?"; }
    }

    /// <summary>JSON as written here: NaN (a rate over too few items) as a string rather than an error.</summary>
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
    static readonly JsonSerializerOptions JsonLine = new(Json) { WriteIndented = false };

    static void Log(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    static void PrintTable(List<Dictionary<string, object?>> results)
    {
        string F(object? v) => v switch
        {
            null => "–",
            double d => d.ToString(d >= 100 ? "F0" : "F3", CultureInfo.InvariantCulture),
            double[] a => string.Join(" / ", a.Select(x => x.ToString("F3", CultureInfo.InvariantCulture))),
            _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
        };
        var keys = results.SelectMany(r => r.Keys).Distinct().Where(k => k is not "kill_rounds" and not "files" and not "concurrent_reader" and not "phases_done").ToList();
        Console.WriteLine("| measure | " + string.Join(" | ", results.Select(r => r["store"])) + " |");
        Console.WriteLine("|---|" + string.Concat(results.Select(_ => "---|")));
        foreach (var k in keys) Console.WriteLine($"| {k} | " + string.Join(" | ", results.Select(r => F(r.GetValueOrDefault(k)))) + " |");
        foreach (var r in results)
            if (r.GetValueOrDefault("concurrent_reader") is { } reader) Console.WriteLine($"{r["store"]} reader: {JsonSerializer.Serialize(reader)}");
    }
}
