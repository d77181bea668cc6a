using System.Text.Json;
using Media.Tests.Workers;

namespace Media.Tests.Cli;

/// <summary><c>media ingest</c> with a concept policy and a webhook configured in the environment, against a real receiver.</summary>
public class WebhookCliTests
{
    const string Secret = "cli-secret";

    /// <summary>Two reddish images, a blue one (concept "blue" → review) and a green one (concept "leaf" → block).</summary>
    internal static string Inputs(TempDir tmp)
    {
        var dir = tmp["in"];
        Directory.CreateDirectory(dir);
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0xC02818:s=96x72,noise=alls=12:allf=t", "-frames:v", "1", Path.Combine(dir, "a-red-1.png"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0xD83020:s=80x60,noise=alls=20:allf=t", "-frames:v", "1", Path.Combine(dir, "a-red-2.png"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x2040D0:s=96x72,noise=alls=15:allf=t", "-frames:v", "1", Path.Combine(dir, "z-blue.png"));
        Ffmpeg.Run("-f", "lavfi", "-i", "color=c=0x30B040:s=96x72,noise=alls=15:allf=t", "-frames:v", "1", Path.Combine(dir, "z-green.png"));
        // z-green matches both concepts' "leaf" (block) and nothing else; block must win over any review it could also get.
        File.WriteAllText(tmp["policy.json"], """
            {"concepts": [{"name": "blue", "prompts": ["a blue picture", "something blue"], "examples": [], "threshold": 0.8, "action": "review"},
                          {"name": "leaf", "prompts": ["green"], "examples": ["in/z-green.png"], "threshold": 0.9, "action": "block"},
                          {"name": "greenish", "prompts": [], "examples": ["in/z-green.png"], "threshold": 0.9, "action": "review"}]}
            """);
        return dir;
    }

    static Dictionary<string, string> Env(string url, int retries) => new()
    {
        ["Media__Webhooks__0__Url"] = url,
        ["Media__Webhooks__0__Secret"] = Secret,
        ["Media__WebhookDelivery__RetryLimit"] = retries.ToString(),
        ["Media__WebhookDelivery__MinIntervalMs"] = "5",
        ["Media__WebhookDelivery__IntervalDeltaMs"] = "5",
        ["Media__WebhookDelivery__MaxIntervalMs"] = "50",
    };

    static CliRunner.Result Ingest(TempDir tmp, string input, Dictionary<string, string> env) =>
        CliRunner.RunIn(Paths.RepoRoot, env, "ingest", "--data", tmp["data"], "--pack", Paths.ColorClip, "--allow-nonsemantic", "--policy", tmp["policy.json"], "--json", input);

    [Fact]
    public async Task Ingest_posts_each_actioned_item_once_signed_after_a_failed_first_request()
    {
        using var tmp = new TempDir();
        var input = Inputs(tmp);
        await using var receiver = await WebhookReceiver.StartAsync((_, n) => n == 1 ? 500 : 200);

        var r = Ingest(tmp, input, Env(receiver.Url("/moderation"), retries: 4));

        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        var lines = r.JsonLines().ToDictionary(l => Path.GetFileName(l.GetProperty("path").GetString()!));
        string? Action(string file) => lines[file].GetProperty("action").ValueKind == JsonValueKind.Null ? null : lines[file].GetProperty("action").GetString();
        Assert.Equal(("review", "block"), (Action("z-blue.png"), Action("z-green.png")));
        Assert.Equal(2, lines["z-green.png"].GetProperty("flags").EnumerateArray().Count(f => f.GetProperty("kind").GetString() == "concept"));
        Assert.Null(Action("a-red-1.png"));
        Assert.Null(Action("a-red-2.png"));

        Assert.Equal(3, receiver.Requests.Count);                          // one failed, then each actioned item once
        var accepted = receiver.Accepted;
        Assert.All(accepted, a => Assert.True(a.SignedWith(Secret)));
        var posted = accepted.ToDictionary(a => Path.GetFileName(a.Json.GetProperty("path").GetString()!), a => a.Json);
        Assert.Equal(["z-blue.png", "z-green.png"], posted.Keys.Order());
        Assert.Equal("block", posted["z-green.png"].GetProperty("action").GetString());
        Assert.Equal(lines["z-green.png"].GetProperty("id").GetString(), posted["z-green.png"].GetProperty("mediaId").GetString());
        Assert.Equal("review", posted["z-blue.png"].GetProperty("action").GetString());
        Assert.Equal(2, accepted.Select(a => a.DeliveryId).Distinct().Count());
    }

    [Fact]
    public async Task Ingest_exits_4_when_a_delivery_fails_for_good_and_2_on_a_non_http_url_or_a_bad_precedence()
    {
        using var tmp = new TempDir();
        var input = Inputs(tmp);
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => 502);

        var failed = Ingest(tmp, input, Env(receiver.Url("/down"), retries: 1));
        Assert.Equal(4, failed.ExitCode);
        Assert.Equal(4, failed.JsonLines().Length);                         // every item still has its result
        Assert.Contains("failed after every retry", failed.Stderr);
        Assert.Contains("502", failed.Stderr);
        Assert.Equal(4, receiver.Requests.Count);                          // 2 actioned items × (1 attempt + 1 retry)

        var refused = Ingest(tmp, input, Env("ftp://127.0.0.1/hook", retries: 1));
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("Media:Webhooks:0:Url", refused.Stderr);
        Assert.Contains("http or https", refused.Stderr);

        var badPolicy = Ingest(tmp, input, new Dictionary<string, string> { ["Media__Actions__Precedence__0"] = "block", ["Media__Actions__Precedence__1"] = "none" });
        Assert.Equal(2, badPolicy.ExitCode);
        Assert.Contains("Media:Actions:Precedence:1", badPolicy.Stderr);
    }
}
