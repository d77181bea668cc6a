namespace Media.Workers;

/// <summary>A broker address <c>amqp://user:pass@host:port/vhost</c> (defaults: guest/guest, port 5672, vhost <c>/</c>).</summary>
public sealed record RabbitMqAddress(string Host, ushort Port, string VirtualHost, string Username, string Password)
{
    /// <exception cref="ArgumentException">Not an amqp:// URI.</exception>
    public static RabbitMqAddress Parse(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || u.Scheme is not ("amqp" or "rabbitmq"))
            throw new ArgumentException($"--rabbitmq '{uri}' is not an amqp://user:pass@host:port/vhost address");
        var user = "guest";
        var pass = "guest";
        if (u.UserInfo.Length > 0)
        {
            var parts = u.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            pass = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : "";
        }
        var vhost = Uri.UnescapeDataString(u.AbsolutePath.TrimStart('/'));
        return new RabbitMqAddress(u.Host, (ushort)(u.IsDefaultPort || u.Port < 0 ? 5672 : u.Port), vhost.Length == 0 ? "/" : vhost, user, pass);
    }
}
