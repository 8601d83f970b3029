#!/usr/bin/env node
// `posj` as flashed on the terminal (the entry of `npm run bundle`).
import { posjProgram } from './posj-program.js';

await posjProgram().parseAsync(process.argv);
