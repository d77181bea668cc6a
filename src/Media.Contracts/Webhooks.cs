namespace Media.Contracts.V1;

/// <summary>
/// One webhook POST to make: an actioned item (<see cref="MediaProcessed.Action"/> set) for one configured webhook whose
/// action filter accepts it. Published by the webhook fan-out on <see cref="MediaProcessed"/>, consumed by the delivery
/// consumer, which signs <paramref name="Body"/> with the webhook's secret (secrets never travel on the bus) and POSTs it to
/// the webhook's configured URL (never to an address read from a message). Retried with backoff on a transport error, a
/// timeout, 408, 425, 429 or 5xx; after the last attempt, or at once on another status, it lands in the endpoint's
/// <c>_error</c> queue.
/// </summary>
/// <param name="DeliveryId">Stable per (submission, webhook): the same across retries and redeliveries, sent as
/// <c>X-Media-Delivery</c> so a receiver can deduplicate.</param>
/// <param name="Webhook">The configured webhook's name (its index under <c>Media:Webhooks</c> unless named).</param>
/// <param name="SubmissionId">The submission the item answers.</param>
/// <param name="Action">The item's resolved action, lower-case (e.g. <c>block</c>).</param>
/// <param name="Body">The exact JSON body to POST (UTF-8 when sent); built once, so every attempt sends the same bytes.</param>
public sealed record WebhookDelivery(Guid DeliveryId, string Webhook, Guid SubmissionId, string Action, string Body);

/// <summary>Published after a webhook receiver answered a <see cref="WebhookDelivery"/> with a 2xx status.</summary>
/// <param name="DeliveryId">The delivery's id (<c>X-Media-Delivery</c>).</param>
/// <param name="Webhook">The webhook's name.</param>
/// <param name="SubmissionId">The submission the item answers.</param>
/// <param name="StatusCode">The receiver's HTTP status, 200–299.</param>
public sealed record WebhookDelivered(Guid DeliveryId, string Webhook, Guid SubmissionId, int StatusCode);
