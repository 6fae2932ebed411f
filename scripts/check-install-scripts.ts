// Every package in the lockfile that wants to run an install script must be listed in
// package.json "allowedInstallScripts" after a human read its script. .npmrc sets
// ignore-scripts=true, so an unlisted script never runs; this check makes a new one visible.
import { readFileSync } from 'node:fs';

interface LockPackage {
  hasInstallScript?: boolean;
}

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockPackage> };
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { allowedInstallScripts?: string[] };
const allowed = new Set(manifest.allowedInstallScripts ?? []);

const withScripts = Object.entries(lock.packages)
  .filter(([path, entry]) => path !== '' && entry.hasInstallScript === true)
  .map(([path]) => path.replace(/^.*node_modules\//, ''));
const unreviewed = withScripts.filter((name) => !allowed.has(name));

if (unreviewed.length > 0) {
  console.error(`install scripts not reviewed: ${unreviewed.join(', ')}`);
  console.error('Read each script, then list the package in package.json "allowedInstallScripts".');
  process.exit(1);
}
console.log(`install scripts: ${withScripts.length} in the tree, all reviewed`);
