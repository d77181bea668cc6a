using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Media.Tests.Catalog;

/// <summary>
/// A private PostgreSQL 15 cluster with pgvector on a free loopback port and its own folder (tools/postgres-local.sh),
/// started once for the tests of the "postgres" collection and stopped afterwards (<c>pg_ctl stop</c>). Each test asks
/// for a database of its own (<see cref="NewDatabase"/>). A missing PostgreSQL or pgvector fails the tests (make test
/// installs both): they are never skipped.
/// </summary>
public sealed class PostgresFixture : IDisposable
{
    readonly TempDir _dir = new();
    public int Port { get; }
    string ClusterDir => _dir["cluster"];

    public PostgresFixture()
    {
        // The cluster runs as the postgres user when the tests run as root: it must reach its folder.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(_dir.Path, (UnixFileMode)0b111_101_101);
        Port = FreePort();
        var r = Script("start");
        if (r.ExitCode != 0) throw new InvalidOperationException($"PostgreSQL did not start (make postgres installs postgresql-15 and pgvector): {r.Stdout}{r.Stderr}");
    }

    /// <summary>The URI of a database on the cluster (user media, password media).</summary>
    public string Uri(string database) => $"postgresql://media:media@127.0.0.1:{Port}/{database}";

    /// <summary>Creates an empty database and returns its URI.</summary>
    public string NewDatabase()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        using var c = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=media;Password=media;Database=postgres;Pooling=false");
        c.Open();
        using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
        cmd.ExecuteNonQuery();
        return Uri(name);
    }

    /// <summary>Restarts the server (pg_ctl restart -m fast): every connection drops; committed data stays.</summary>
    public void Restart()
    {
        var r = Script("restart");
        if (r.ExitCode != 0) throw new InvalidOperationException($"PostgreSQL did not restart: {r.Stdout}{r.Stderr}");
    }

    TestProcess.Result Script(string verb) => TestProcess.Run(Path.Combine(Paths.RepoRoot, "tools", "postgres-local.sh"), [verb, ClusterDir, Port.ToString()]);

    static int FreePort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = Random.Shared.Next(41000, 49000);
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                return port;
            }
            catch (SocketException) { }
        }
        throw new InvalidOperationException("no free port for PostgreSQL");
    }

    public void Dispose()
    {
        Script("stop");
        _dir.Dispose();
    }
}

[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>;
