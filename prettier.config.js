// Prettier for the whole tree (`npm run format`); the options follow the code as written, to keep the reformat small.
/** @type {import('prettier').Config} */
export default {
  printWidth: 120,
  singleQuote: true,
  // Lit's html`` and css`` templates stay as written: prettier's HTML printer moves whitespace inside inline content.
  embeddedLanguageFormatting: 'off',
};
