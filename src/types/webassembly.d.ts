// Node has WebAssembly at run time, but TypeScript declares it only in the DOM library, which would
// bring browser globals in. These are the few parts we use.
declare namespace WebAssembly {
  class Module {
    private constructor();
  }
  class Instance {
    private constructor();
  }
  type Imports = Record<string, Record<string, unknown>>;
  function compile(bytes: Uint8Array): Promise<Module>;
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
}
