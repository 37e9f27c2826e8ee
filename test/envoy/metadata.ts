/**
 * A request's dynamic metadata (StreamInfo filter_metadata), written by ext_proc answers (contract §6):
 * only namespaces listed in receiving_namespaces are merged; each is a key merge; a non-struct top-level
 * value is an empty merge.
 */
import type { Struct } from '../../src/server/ext-proc-types.js';
import type { DynamicMetadata } from './hooks.js';
import { fromStruct, type JsonLike } from '../../src/server/struct.js';

export class MetadataStore {
  /** Live view, namespace -> key -> JSON value. */
  readonly data: DynamicMetadata = {};

  constructor(private readonly receivingNamespaces: readonly string[]) {}

  /** setDynamicMetadata: merge each receiving namespace's struct, drop the rest. */
  apply(dynamicMetadata: Struct | undefined): void {
    if (!dynamicMetadata || this.receivingNamespaces.length === 0) return;
    for (const [namespace, value] of Object.entries(dynamicMetadata.fields ?? {})) {
      if (!this.receivingNamespaces.includes(namespace)) continue;
      const merged = fromStruct(value.structValue);
      this.data[namespace] = { ...(this.data[namespace] ?? {}), ...merged };
    }
  }

  /** Deep copy for records. */
  snapshot(): DynamicMetadata {
    return structuredClone(this.data);
  }

  /**
   * %DYNAMIC_METADATA(ns:key)% as a header formatter renders it: strings as is, numbers without a
   * trailing ".0", other values as JSON; undefined when absent (then the header is not added).
   */
  format(namespace: string, key: string): string | undefined {
    const value = this.data[namespace]?.[key] as JsonLike | undefined;
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value === '' ? undefined : value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return JSON.stringify(value);
  }
}
