/**
 * A real nginx from Debian's package, run unprivileged-style on a free port with its own
 * prefix (no system paths touched). Found as NGINX_BIN, on PATH, at /usr/sbin/nginx, or, when
 * none is installed, extracted once from `apt-get download nginx` (dpkg-deb -x) into a cache
 * directory, as .ci/run does.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CACHE = join(tmpdir(), "mfa-portal-nginx");

export function findNginx(): string {
  const candidates = [process.env.NGINX_BIN, "/usr/sbin/nginx", join(CACHE, "root/usr/sbin/nginx")].filter(Boolean) as string[];
  for (const path of candidates) if (existsSync(path)) return path;
  try {
    return execFileSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" }).trim() || extract();
  } catch {
    return extract();
  }
}

function extract(): string {
  mkdirSync(CACHE, { recursive: true });
  execFileSync("apt-get", ["download", "nginx"], { cwd: CACHE, stdio: "ignore" });
  const deb = readdirSync(CACHE).find((name) => /^nginx_.*\.deb$/.test(name));
  if (!deb) throw new Error("nginx is needed for this test: install it (apt-get install nginx) or set NGINX_BIN");
  execFileSync("dpkg-deb", ["-x", join(CACHE, deb), join(CACHE, "root")]);
  return join(CACHE, "root/usr/sbin/nginx");
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.on("error", fail);
  });
}

export interface RunningNginx {
  port: number;
  url: string;
  stop(): Promise<void>;
  errors(): string;
}

/** Starts nginx with `server` (the body of one server block, with PORT replaced) in a throwaway prefix. */
export async function startNginx(serverBlock: (port: number) => string): Promise<RunningNginx> {
  const bin = findNginx();
  const prefix = mkdtempSync(join(tmpdir(), "mfa-portal-nginx-run-"));
  const port = await freePort();
  const temp = (name: string) => `${name}_temp_path ${join(prefix, name)};`;
  const conf = `
daemon off;
master_process off;
pid ${join(prefix, "nginx.pid")};
error_log ${join(prefix, "error.log")} info;
events { worker_connections 64; }
http {
  access_log off;
  ${temp("client_body")} ${temp("proxy")} ${temp("fastcgi")} ${temp("uwsgi")} ${temp("scgi")}
  server {
    listen 127.0.0.1:${port};
    ${serverBlock(port)}
  }
}`;
  const file = join(prefix, "nginx.conf");
  writeFileSync(file, conf);
  const child: ChildProcess = spawn(bin, ["-p", prefix, "-e", join(prefix, "error.log"), "-c", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const errors = () => stderr + (existsSync(join(prefix, "error.log")) ? readFileSync(join(prefix, "error.log"), "utf8") : "");
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${errors()}`);
    const up = await new Promise<boolean>((done) => {
      const socket = createConnection({ host: "127.0.0.1", port }, () => {
        socket.end();
        done(true);
      });
      socket.on("error", () => done(false));
    });
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    errors,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}
