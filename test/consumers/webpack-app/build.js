// Runs webpack with webpack.config.js through its Node API (what webpack-cli does), then copies the page beside the output.
import { copyFileSync } from 'node:fs';
import webpack from 'webpack';
import config from './webpack.config.js';

webpack(config, (error, stats) => {
  if (error || stats.hasErrors()) {
    console.error(error ?? stats.toString({ all: false, errors: true, warnings: true }));
    process.exit(1);
  }
  console.log(stats.toString({ all: false, assets: true, warnings: true }));
  copyFileSync('index.html', 'dist/index.html');
});
