/** The real sandbox provider, counting the prompts it sends, so tests can prove "sent once". */
import { SandboxProvider } from '../providers/sandbox.js';
import type { PushRequest, PushResult } from '../providers/types.js';

export class CountingSandbox extends SandboxProvider {
  readonly pushes: PushRequest[] = [];

  override async requestPayment(request: PushRequest): Promise<PushResult> {
    this.pushes.push(request);
    return super.requestPayment(request);
  }
}
