import type { MiddlewareHandler } from "hono";
import { METRIC_PREFIX, metricsRegistry } from "../metrics.ts";

/**
 * Request counts and durations (http_requests_total, http_request_duration_seconds) by method,
 * status and the matched route pattern ("/register/:token"), never the raw path; a request no
 * route answered (a 404) carries the pattern of the last middleware it passed ("/*").
 * @hono/prometheus is imported on the first request, so a process without METRICS_PORT (which
 * never mounts this) does not load it.
 */
let middleware: Promise<MiddlewareHandler> | null = null;

export const httpMetrics: MiddlewareHandler = async (c, next) => {
  middleware ??= import("@hono/prometheus").then(({ prometheus }) => prometheus({ registry: metricsRegistry(), prefix: METRIC_PREFIX }).registerMetrics);
  return (await middleware)(c, next);
};
