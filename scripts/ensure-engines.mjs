// Finds Firefox ESR and WebKitGTK's driver for the browser tests, installing Debian's packages when running as root.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (name) => ['/usr/bin', '/usr/local/bin'].map((d) => `${d}/${name}`).find((p) => existsSync(p));

function aptInstall(packages, why) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) return false;
  console.log(`syncline: ${why}; installing Debian's ${packages.join(' ')} with apt-get...`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return true;
}

/**
 * The oldest Firefox the tests drive: puppeteer-core's WebDriver BiDi opens each page with commands Firefox ESR 140
 * does not know (`emulation.setScreenOrientationOverride`: every test file fails to start).
 */
const MIN_FIREFOX = 153;

/** The major version of a Firefox binary, or null when it does not say. */
function firefoxMajor(path) {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    const m = /(\d+)\.\d+/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function ensureFirefox() {
  const find = () =>
    [process.env.FIREFOX_PATH, onPath('firefox-esr'), onPath('firefox')].find((p) => p && existsSync(p));
  let path = find();
  if (!path && aptInstall(['firefox-esr'], 'no Firefox found')) path = find();
  if (!path) {
    console.error(
      'syncline: Firefox not found. Install it (Debian: "sudo apt-get install -y firefox-esr") or set FIREFOX_PATH.',
    );
    process.exit(1);
  }
  const major = firefoxMajor(path);
  if (major === null || major >= MIN_FIREFOX) return;
  if (!process.env.FIREFOX_PATH && aptInstall(['firefox-esr'], `Firefox ${major} is older than ${MIN_FIREFOX}`)) {
    const now = firefoxMajor(path);
    if (now === null || now >= MIN_FIREFOX) return;
  }
  console.error(
    `syncline: ${path} is Firefox ${major}; the tests need ${MIN_FIREFOX} or later (Debian: "sudo apt-get update && sudo apt-get install -y firefox-esr").`,
  );
  process.exit(1);
}

export function ensureWebKit() {
  const found = () => onPath('WebKitWebDriver') && (process.env.DISPLAY || onPath('Xvfb'));
  if (found() || (aptInstall(['webkit2gtk-driver', 'xvfb', 'xauth'], 'no WebKitWebDriver or Xvfb found') && found()))
    return;
  console.error(
    'syncline: WebKitWebDriver or Xvfb not found. Install them (Debian: "sudo apt-get install -y webkit2gtk-driver xvfb xauth").',
  );
  process.exit(1);
}
