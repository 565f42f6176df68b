import { prometheus } from "@hono/prometheus";
import { METRIC_PREFIX, registry } from "../metrics.ts";

/**
 * Request counts and durations (http_requests_total, http_request_duration_seconds) by method,
 * status and the matched route pattern ("/register/:token"), never the raw path; a request no
 * route answered (a 404) carries the pattern of the last middleware it passed ("/*").
 */
export const httpMetrics = prometheus({ registry, prefix: METRIC_PREFIX }).registerMetrics;
