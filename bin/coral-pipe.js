#!/usr/bin/env node
// The installed command. A checked-in file, so its executable bit survives every rebuild of dist/.
import '../dist/src/cli/main.js';
