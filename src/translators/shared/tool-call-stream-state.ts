/**
 * OpenAI `tool_calls` deltas for providers that stream a tool call as a block (Anthropic tool_use, Converse
 * toolUse): the block start gives `{index, id, type, function:{name, arguments:""}}`; argument pieces follow with
 * the same `index` and no `id`; a tool that got no argument piece gets its fallback arguments (`"{}"`) exactly
 * once, at its block stop. Indexes count the tool calls of the response from 0.
 */
import type { OpenAIChunkWriter } from './openai-chunk.js';

/** One streamed tool call, held in the mapper's block state. */
export interface ToolCallBlock {
  readonly toolIndex: number;
  readonly fallbackArguments: string;
  sentArguments: boolean;
}

export class ToolCallStreamState {
  private count = 0;

  constructor(private readonly writer: OpenAIChunkWriter) {}

  /** A tool call was streamed (the finish reason is then `tool_calls`). */
  get called(): boolean {
    return this.count > 0;
  }

  start(id: string, name: string, fallbackArguments = '{}'): ToolCallBlock {
    const block: ToolCallBlock = { toolIndex: this.count++, fallbackArguments, sentArguments: false };
    this.writer.chunk({ tool_calls: [{ index: block.toolIndex, id, type: 'function', function: { name, arguments: '' } }] });
    return block;
  }

  appendArguments(block: ToolCallBlock, partial: string): void {
    block.sentArguments = true;
    this.writer.chunk({ tool_calls: [{ index: block.toolIndex, function: { arguments: partial } }] });
    this.writer.deliver(partial);
  }

  stop(block: ToolCallBlock): void {
    if (block.sentArguments) return;
    this.appendArguments(block, block.fallbackArguments);
  }
}
