using System.CommandLine;
using Media.Application;
using Media.Catalog;
using Spectre.Console;

namespace Media.Cli.Commands;

/// <summary>
/// <c>media jobs [--data DIR] [--json]</c>: the reprocessing jobs of the catalog, newest first, with their runs, coverage
/// and missing items. A job whose run has written no progress for <see cref="StaleAfter"/> is shown as <c>interrupted</c>
/// (its process was killed; <c>media reprocess</c> with the same pack continues it).
/// </summary>
static class JobsCommand
{
    /// <summary>A running job silent for this long was killed (a run writes its progress every second).</summary>
    static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var service = new ServiceOptions();
        var json = CommonOptions.Json();
        var command = new Command("jobs", "Reprocessing jobs: running and finished, with what is missing") { json, service.Data, service.Catalog };
        command.SetAction(parse =>
        {
            var dir = service.CatalogLocation(parse);
            if (!Catalogs.Exists(dir))
            {
                CliOutput.Error($"no catalog in {Catalogs.Describe(dir)}");
                return 2;
            }
            try
            {
                using var catalog = Catalogs.Open(dir);
                var store = (IReprocessStore)catalog;
                var asJson = parse.GetValue(json);
                var table = new Table().AddColumns("job", "pack", "collection", "status", "covered", "missing", "runs (processed each)", "updated");
                foreach (var job in store.Jobs())
                {
                    var status = job.Status == JobStatus.Running && DateTimeOffset.UtcNow - job.HeartbeatAt > StaleAfter ? "interrupted" : job.Status;
                    var coverage = store.JobCoverage(job.Id);
                    var missing = store.MissingItems(job.Id);
                    if (asJson)
                        CliOutput.Line(new
                        {
                            id = job.Id, kind = job.Kind, pack = job.Pack.ToString(), collection = job.Collection, modalities = job.Modalities, status,
                            createdAt = job.CreatedAt, heartbeatAt = job.HeartbeatAt, finishedAt = job.FinishedAt, processed = job.Processed,
                            total = coverage.Total, covered = coverage.Covered, missing = coverage.Missing,
                            runs = job.Runs.Select(r => new { run = r.Run, startedAt = r.StartedAt, finishedAt = r.FinishedAt, pending = r.Pending, processed = r.Processed, missing = r.Missing, status = r.Status }),
                            missingItems = missing.Select(m => new { id = m.MediaId, path = m.Path, reason = m.Reason, at = m.At }),
                        });
                    else
                        table.AddRow(job.Id.ToString(), Markup.Escape(job.Pack.ToString()), Markup.Escape(job.Collection ?? "(all)"), status,
                            $"{coverage.Covered}/{coverage.Total}", coverage.Missing.ToString(), string.Join(", ", job.Runs.Select(r => $"#{r.Run} {r.Status} {r.Processed}")),
                            job.HeartbeatAt.ToString("u"));
                }
                if (!asJson) AnsiConsole.Write(table);
                return 0;
            }
            catch (CatalogException ex)
            {
                CliOutput.Error(ex.Message);
                return 2;
            }
        });
        return command;
    }
}
