using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Media.Tests.Workers;

/// <summary>
/// A private RabbitMQ node on a free loopback port with its own folders (tools/rabbitmq-local.sh), started once for
/// the tests of the "rabbitmq" collection and stopped afterwards together with its epmd. A missing broker fails the
/// tests (under CI=true and everywhere else): they are never skipped.
/// </summary>
public sealed class RabbitMqFixture : IDisposable
{
    readonly TempDir _dir = new();
    public int Port { get; }
    public string Uri => $"amqp://guest:guest@127.0.0.1:{Port}/";

    public RabbitMqFixture()
    {
        Port = FreePort();
        var r = Script("start");
        if (r.ExitCode != 0) throw new InvalidOperationException($"RabbitMQ did not start (make setup installs rabbitmq-server): {r.Stdout}{r.Stderr}");
    }

    /// <summary>Restarts the broker application (all connections drop; durable queues and persistent messages survive).</summary>
    public void RestartApplication()
    {
        Ctl("stop_app");
        Ctl("start_app");
    }

    void Ctl(string verb) => TestProcess.Check("runuser", "-u", "rabbitmq", "--", "env", "HOME=/var/lib/rabbitmq",
        "/usr/lib/rabbitmq/bin/rabbitmqctl", "-q", "-n", $"media-{Port}@localhost", verb);

    TestProcess.Result Script(string verb) => TestProcess.Run(Path.Combine(Paths.RepoRoot, "tools", "rabbitmq-local.sh"), [verb, _dir.Path, Port.ToString()]);

    /// <summary>A port free on loopback whose distribution port (+20000) is free too.</summary>
    static int FreePort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = Random.Shared.Next(20000, 40000);
            if (Free(port) && Free(port + 20000)) return port;
        }
        throw new InvalidOperationException("no free port for RabbitMQ");

        static bool Free(int port)
        {
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                return true;
            }
            catch (SocketException) { return false; }
        }
    }

    public void Dispose()
    {
        Script("stop");
        _dir.Dispose();
    }
}

[CollectionDefinition("rabbitmq")]
public sealed class RabbitMqCollection : ICollectionFixture<RabbitMqFixture>;

/// <summary>A <c>media serve</c> worker process, logging to a file; killed on dispose.</summary>
public sealed class WorkerProcess : IDisposable
{
    readonly Process _process;
    public string LogPath { get; }

    public WorkerProcess(string logPath, params string[] args) : this(logPath, null, args) { }

    /// <summary>A worker with extra environment variables (configuration such as <c>Media__Webhooks__0__Url</c>).</summary>
    public WorkerProcess(string logPath, IDictionary<string, string>? env, params string[] args)
    {
        LogPath = logPath;
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >\"$MEDIA_WORKER_LOG\" 2>&1");
        psi.ArgumentList.Add(Paths.MediaExe);
        foreach (var a in new[] { "serve" }.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["MEDIA_WORKER_LOG"] = logPath;
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        _process = Process.Start(psi)!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!Log.Contains("Bus started"))
        {
            if (_process.HasExited) throw new InvalidOperationException($"worker exited: {Log}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"worker did not start: {Log}");
            Thread.Sleep(100);
        }
    }

    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>SIGKILL: no chance to drain.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, then wait for the exit.</summary>
    public bool Terminate(TimeSpan timeout)
    {
        using (var k = Process.Start("kill", ["-TERM", _process.Id.ToString()])) k.WaitForExit();
        return _process.WaitForExit(timeout);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }
}
