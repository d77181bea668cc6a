using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Media.Tests.Api;

/// <summary>
/// The web page in Debian's headless Chromium (driven by Selenium through Debian's chromedriver; <c>make test</c> installs
/// both) against a real <c>media serve --http 127.0.0.1:0</c> with the colour fixture pack: a text search shows results
/// (red first), an item opens with its near-duplicate, the duplicates page shows the group, and the map draws one point
/// per item. Also checks MassTransit's own instruments on <c>/metrics</c> of the real process.
/// </summary>
public sealed class WebPageBrowserTests
{
    const string Chromium = "/usr/bin/chromium", Driver = "/usr/bin/chromedriver";

    [Fact]
    public async Task The_page_searches_opens_an_item_shows_duplicates_and_draws_the_map()
    {
        Assert.True(File.Exists(Chromium) && File.Exists(Driver), $"{Chromium} and {Driver} are needed (Debian packages chromium and chromium-driver; `make test` installs them)");
        using var data = new TempDir();
        var psi = new ProcessStartInfo(Paths.MediaExe) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "serve", "--http", "127.0.0.1:0", "--data", data.Path, "--pack", Paths.ColorClip }) psi.ArgumentList.Add(a);
        using var server = Process.Start(psi)!;
        try
        {
            var url = await ListeningUrl(server);
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            var red = ApiMaterial.Blocks(ApiMaterial.Red, 1);
            var items = new[] { red, ApiMaterial.Blocks(ApiMaterial.Red, 1, 128, 60), ApiMaterial.Blocks(ApiMaterial.Green, 2), ApiMaterial.Blocks(ApiMaterial.Blue, 3) };
            foreach (var bytes in items)
            {
                var r = await http.PostAsync("/v1/media?wait=60", new MultipartFormDataContent { { new ByteArrayContent(bytes), "file", "item.webp" } });
                r.EnsureSuccessStatusCode();
                Assert.Equal("indexed", (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
            }
            Assert.Contains("messaging_masstransit_consume", await http.GetStringAsync("/metrics"));

            var options = new ChromeOptions { BinaryLocation = Chromium };
            options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900");
            using var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
            service.HideCommandPromptWindow = true;
            using var browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
            var wait = new WebDriverWait(browser, TimeSpan.FromSeconds(30));

            // Search by a linkable URL: results with thumbnails and scores, red first.
            browser.Navigate().GoToUrl(url + "/?q=red");
            var results = wait.Until(d => d.FindElements(By.CssSelector("#results .result")) is { Count: > 0 } found ? found : null);
            Assert.Equal(4, results.Count);
            Assert.Contains(results[0].GetAttribute("data-id"), new[] { ApiMaterial.Id(items[0]), ApiMaterial.Id(items[1]) });
            Assert.NotNull(results[0].FindElement(By.CssSelector("img")).GetAttribute("src"));
            wait.Until(d => ((IJavaScriptExecutor)d).ExecuteScript("return [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)") is true);

            // Open the red original: its near-duplicate side by side.
            browser.FindElements(By.CssSelector("#results .result")).First(e => e.GetAttribute("data-id") == ApiMaterial.Id(red)).Click();
            wait.Until(d => d.FindElements(By.CssSelector("#item")).Count == 1);
            Assert.EndsWith($"/media/{ApiMaterial.Id(red)}", browser.Url);
            var near = wait.Until(d => d.FindElements(By.CssSelector("#near .near")) is { Count: > 0 } found ? found : null);
            Assert.Single(near);
            Assert.Contains("pdq", near[0].Text);

            // The duplicates page: one group, with the method and distance of the flag.
            browser.Navigate().GoToUrl(url + "/duplicates");
            var groups = wait.Until(d => d.FindElements(By.CssSelector(".dup-group")) is { Count: > 0 } found ? found : null);
            Assert.Single(groups);
            Assert.Matches(@"pdq · distance \d+ ≤ 31", groups[0].FindElement(By.CssSelector(".evidence")).Text);

            // The map draws one point per item.
            browser.Navigate().GoToUrl(url + "/map?pack=color-clip");
            var points = wait.Until(d => d.FindElements(By.CssSelector("#map-svg circle")) is { Count: > 0 } found ? found : null);
            Assert.Equal(items.Length, points.Count);
            Assert.Contains("4 of 4 items", browser.FindElement(By.Id("map-info")).Text);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
                server.WaitForExit(10_000);
            }
        }
    }

    /// <summary>Reads the server's stderr until it says where it listens.</summary>
    static async Task<string> ListeningUrl(Process server)
    {
        var log = new System.Text.StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await server.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            log.AppendLine(line);
            const string marker = "media serve: listening on ";
            if (line.StartsWith(marker, StringComparison.Ordinal))
            {
                _ = server.StandardError.ReadToEndAsync(); // keep draining
                _ = server.StandardOutput.ReadToEndAsync();
                return line[marker.Length..].Trim();
            }
        }
        throw new InvalidOperationException("media serve exited before listening:\n" + log);
    }
}
