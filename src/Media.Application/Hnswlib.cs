using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Media.Application;

/// <summary>Runs the hnswlib peer (<c>tools/hnswlib_peer.py</c>, Debian's python3-hnswlib) on the benchmark's vectors.</summary>
static class Hnswlib
{
    /// <exception cref="InvalidOperationException">The peer failed; the message has its stderr.</exception>
    public static PeerFigures Run(string script, IEnumerable<float[]> vectors, float[] queries, HashSet<long>[] truth, int dimension, string dataDirectory)
    {
        var dir = Path.Combine(dataDirectory, "hnswlib-peer");
        Directory.CreateDirectory(dir);
        try
        {
            using (var file = new FileStream(Path.Combine(dir, "vectors.f32"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                foreach (var v in vectors) file.Write(MemoryMarshal.AsBytes(v.AsSpan()));
            File.WriteAllBytes(Path.Combine(dir, "queries.f32"), MemoryMarshal.AsBytes(queries.AsSpan()).ToArray());
            var ids = truth.SelectMany(t => t.Order().Concat(Enumerable.Repeat(0L, 10)).Take(10)).ToArray();
            File.WriteAllBytes(Path.Combine(dir, "truth.i64"), MemoryMarshal.AsBytes(ids.AsSpan()).ToArray());
            // Debian's interpreter: python3-hnswlib and python3-numpy are installed for it, not for other pythons on PATH.
            var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { script, dir, dimension.ToString() }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start");
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"the hnswlib peer failed (is python3-hnswlib installed?): {stderr.Result.Trim()}");
            using var json = JsonDocument.Parse(stdout);
            var r = json.RootElement;
            return new PeerFigures(r.GetProperty("qps").GetDouble(), r.GetProperty("recallAt10").GetDouble(), r.GetProperty("ef").GetInt32(), r.GetProperty("buildSeconds").GetDouble())
            {
                QpsSingleThread = r.GetProperty("qpsSingleThread").GetDouble(),
            };
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
