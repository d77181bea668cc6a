using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Media.Api;

/// <summary>
/// Bearer API keys: <c>Authorization: Bearer KEY</c> where KEY is one of <see cref="ApiSettings.Keys"/>. Keys are compared
/// as SHA-256 digests in constant time. A missing or wrong key is answered 401 with <c>WWW-Authenticate: Bearer</c> and a
/// problem details body.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiSettings settings)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    readonly byte[][] _digests = [.. settings.Keys.Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header)) return Task.FromResult(AuthenticateResult.NoResult());
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return Task.FromResult(AuthenticateResult.Fail("the Authorization header is not a Bearer key"));
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        var index = -1;
        for (var i = 0; i < _digests.Length; i++)
            if (CryptographicOperations.FixedTimeEquals(digest, _digests[i])) index = i;
        if (index < 0) return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, $"key#{index}")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        var authorization = Request.Headers.Authorization.ToString();
        var detail = string.IsNullOrEmpty(authorization)
            ? "this server requires an API key: send Authorization: Bearer KEY"
            : "the API key is not valid";
        await Results.Problem(new ProblemDetails { Status = 401, Title = "Unauthorized", Detail = detail, Type = "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2" })
            .ExecuteAsync(Context);
    }
}
