/** The routes a Fastify app has registered, read from `printRoutes()`, for tests that compare them with the docs. */
import type { FastifyInstance } from 'fastify';

export interface RegisteredRoute {
  method: string;
  /** Fastify's form: `/v1/payments/:id`. */
  url: string;
}

/**
 * Every route with its methods, HEAD and OPTIONS left out (Fastify and CORS add them to every
 * route). `printRoutes({ commonPrefix: false })` prints a tree: each level indented four
 * characters, each node the rest of its path after its parent's, then its methods.
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const pathAt: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const url = (depth === 0 ? '' : pathAt[depth - 1]!) + match[2]!;
    pathAt[depth] = url;
    pathAt.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ')) if (method && method !== 'HEAD' && method !== 'OPTIONS') routes.push({ method, url });
  }
  return routes;
}
