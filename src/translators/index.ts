/** Imports every translator so it registers itself. One line per translator module. */
import './openai/index.js';
