#!/usr/bin/env node
// The published entry point runs the compiled CLI (`npm run build` first when working from a checkout).
import "../dist/cli/main.js";
