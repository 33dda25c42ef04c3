/** Opening every site of a design, for commands that read a deployment (verify, status). */
import type { ResolvedDesign } from '../design/resolve.js';
import { type SiteConnector, openConnector } from '../engines/connector.js';

export async function openSites(resolved: ResolvedDesign, sitesDir: string): Promise<Map<string, SiteConnector>> {
  const connectors = new Map<string, SiteConnector>();
  try {
    for (const site of resolved.design.sites) connectors.set(site.name, await openConnector(site, sitesDir));
  } catch (e) {
    await Promise.all([...connectors.values()].map((c) => c.close().catch(() => {})));
    throw e;
  }
  return connectors;
}
