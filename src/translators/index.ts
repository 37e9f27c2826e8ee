/** Imports every translator so it registers itself. One line per translator module. */
import './openai/index.js';
import './azure-openai/index.js';
import './anthropic/index.js';
import './gemini/index.js';
import './bedrock/index.js';
import './aws-anthropic/index.js';
import './anthropic-ingress/index.js';
