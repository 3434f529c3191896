/** This package's version: part of every script's command name (`keel:idem:<name>:<version>`). */
export const VERSION = '0.1.0';
