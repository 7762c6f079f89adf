/**
 * The permits domain as the console and the node CLI use it: the authorizer the cluster calls,
 * trusted issuers (guarded enrolment and removal), and approvals given at this node.
 */
import type { PermitApprovalView, TrustedIssuerView } from '../../preload/contract';
import type { AuditLog } from '../audit/audit-log';
import { fail } from '../errors';
import type { OperationGuard } from '../guardians/guard';
import type { Db } from '../store/database';
import type { PermitAuthorizer } from './authorizer';
import { PermitApprovals, type GuardianPermitApproval } from './permit-approvals';
import { TrustedIssuers, type IssuerEnrolment } from './trusted-issuers';

export interface PermitServiceOptions {
  db: Db;
  audit: AuditLog;
  guard: OperationGuard;
  issuers: TrustedIssuers;
  approvals: PermitApprovals;
  authorizer: PermitAuthorizer;
}

export class PermitService {
  /** The SignAuthorizer the cluster consults before contributing to any signature. */
  readonly authorizer: PermitAuthorizer;

  constructor(private readonly options: PermitServiceOptions) {
    this.authorizer = options.authorizer;
  }

  private write<T>(work: () => T): T {
    try {
      return this.options.db.transaction(work)();
    } finally {
      this.options.issuers.invalidate();
    }
  }

  issuers(): TrustedIssuerView[] {
    return this.options.issuers.list();
  }

  /** Validates an enrolment (fingerprint confirmed) and returns what the guardian request must carry. */
  issuerEnrolParameters(enrolment: IssuerEnrolment): Record<string, string | boolean> {
    this.options.issuers.validate(enrolment);
    return TrustedIssuers.enrolParameters(enrolment);
  }

  enrolIssuer(enrolment: IssuerEnrolment, requestId: string): TrustedIssuerView[] {
    const parameters = this.issuerEnrolParameters(enrolment);
    const subject = String(parameters.fingerprint);
    this.options.guard.checkApproval('permit-issuer.enrol', subject, parameters, requestId);
    this.write(() => {
      const { approvers } = this.options.guard.requireApproval('permit-issuer.enrol', subject, parameters, requestId);
      this.options.issuers.enrol(enrolment, 'operator', { requestId, approvers });
    });
    return this.issuers();
  }

  issuerRemoveParameters(fingerprint: string): Record<string, string | boolean> {
    const issuer = this.options.issuers.requireEnrolled(fingerprint);
    return { fingerprint: issuer.fingerprint, publicKey: issuer.publicKey };
  }

  removeIssuer(fingerprint: string, requestId: string): TrustedIssuerView[] {
    const parameters = this.issuerRemoveParameters(fingerprint);
    this.write(() => {
      const { approvers } = this.options.guard.requireApproval('permit-issuer.remove', fingerprint, parameters, requestId);
      this.options.issuers.remove(fingerprint, 'operator', { requestId, approvers });
    });
    return this.issuers();
  }

  /** Headless setup (no guardians): the operator's confirmed issuers from a file. */
  enrolIssuersAtSetup(enrolments: IssuerEnrolment[], guardiansEnrolled: boolean, source: string): void {
    if (guardiansEnrolled) fail('NODE_SETUP_REFUSED', 'This node has guardians; trusted issuers change only with their approval, not from setup files.');
    this.write(() => {
      for (const e of enrolments) {
        if (this.options.issuers.byPublicKey(e.publicKey.toLowerCase())) continue;
        this.options.issuers.enrol(e, 'operator (node setup)', { source });
      }
    });
  }

  /** The person at this console approves a permit they reviewed (the permit queue calls this). */
  approvePermit(permitId: string, approvedBy = 'operator'): PermitApprovalView {
    return this.options.approvals.approveHere(permitId, approvedBy);
  }

  approvals(): PermitApprovalView[] {
    return this.options.approvals.listHere();
  }

  /** Parameters of a large-withdrawal guardian request for one permit. */
  guardianApprovalParameters(p: GuardianPermitApproval): Record<string, string> {
    return PermitApprovals.guardianParameters(p);
  }

  recordGuardianApproval(p: GuardianPermitApproval, requestId: string): void {
    this.options.approvals.recordGuardianApproval(this.options.guard, p, requestId);
  }
}
