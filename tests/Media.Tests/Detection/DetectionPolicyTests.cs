using Media.Detection;
using Microsoft.Extensions.Configuration;

namespace Media.Tests.Detection;

public class DetectionPolicyTests
{
    static DetectionPolicy Bind(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build()
            .GetSection("Media:Detection").Get<DetectionPolicy>() ?? new DetectionPolicy();

    [Fact]
    public void The_nsfw_pack_has_its_measured_threshold_unless_configuration_replaces_it()
    {
        Assert.Equal(0.12, new DetectionPolicy().Image.CosineThreshold("nsfw-mobilenet-v2"));
        Assert.Equal(0.05, new DetectionPolicy().Image.CosineThreshold("clip-vit-b32"));

        // Configuring another pack adds to the built-in values ...
        var other = Bind(("Media:Detection:Image:PackMaxCosineDistance:clip-vit-b32", "0.04"));
        Assert.Equal((0.04, 0.12), (other.Image.CosineThreshold("clip-vit-b32"), other.Image.CosineThreshold("nsfw-mobilenet-v2")));
        // ... and configuring the nsfw pack replaces its value.
        var nsfw = Bind(("Media:Detection:Image:PackMaxCosineDistance:nsfw-mobilenet-v2", "0.08"));
        Assert.Equal(0.08, nsfw.Image.CosineThreshold("nsfw-mobilenet-v2"));
        Assert.Equal(0.12, ModalityPolicy.MeasuredPackDefaults["nsfw-mobilenet-v2"]); // the shared defaults are not mutated
    }
}
