// A Web Test Runner launcher for WebKitGTK: starts Xvfb (when there is no display) and WebKitWebDriver, which drives MiniBrowser.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { WebdriverLauncher } from '@web/test-runner-webdriver';

const MINIBROWSER = [
  '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
  '/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
];

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
  });

async function waitForPort(port, child, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited (${child.exitCode})`);
    const open = await new Promise((resolve) => {
      const socket = createConnection(port, '127.0.0.1')
        .once('connect', () => {
          socket.end();
          resolve(true);
        })
        .once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts an Xvfb server on a display it picks itself and returns that display, e.g. ":3". */
function startXvfb(children) {
  return new Promise((resolve, reject) => {
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    children.push(xvfb);
    xvfb.once('error', (e) => reject(new Error(`Xvfb could not start (apt-get install -y xvfb): ${e.message}`)));
    xvfb.stdio[3].once('data', (d) => resolve(`:${String(d).trim()}`));
  });
}

/** Web Test Runner's WebDriver launcher, with WebKitWebDriver (and Xvfb) started before the first session and ended with it. */
class WebKitLauncher extends WebdriverLauncher {
  #children = [];
  #ready;

  constructor() {
    const port = freePort();
    const binary = MINIBROWSER.find((p) => existsSync(p));
    super({
      hostname: '127.0.0.1',
      port: 0,
      logLevel: 'error',
      // WebKitWebDriver speaks classic WebDriver only: without this, webdriverio asks for BiDi and no session matches.
      capabilities: {
        browserName: 'MiniBrowser',
        'wdio:enforceWebDriverClassic': true,
        'webkitgtk:browserOptions': { binary, args: ['--automation'] },
      },
    });
    this.#ready = port.then(async (p) => {
      this.options.port = p;
      const env = { ...process.env };
      if (!env.DISPLAY) env.DISPLAY = await startXvfb(this.#children);
      const driver = spawn('WebKitWebDriver', [`--port=${p}`, '--host=127.0.0.1'], { env, stdio: 'ignore' });
      this.#children.push(driver);
      await new Promise((resolve, reject) => {
        driver.once('spawn', resolve);
        driver.once('error', (e) =>
          reject(new Error(`WebKitWebDriver could not start (apt-get install -y webkit2gtk-driver): ${e.message}`)),
        );
      });
      await waitForPort(p, driver);
    });
    // The test runner may exit without calling stop(): never leave a driver or display server behind.
    process.once('exit', () => this.#kill());
  }

  async initialize(config, testFiles) {
    await this.#ready;
    await super.initialize(config, testFiles);
    this.name = 'WebKit';
  }

  async stop() {
    await super.stop();
    this.#kill();
  }

  #kill() {
    for (const child of this.#children.splice(0)) if (child.exitCode === null) child.kill();
  }
}

export function startWebKitDriver() {
  return new WebKitLauncher();
}
