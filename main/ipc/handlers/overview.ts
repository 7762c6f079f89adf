import { OverviewService } from '../../overview/overview-service';
import type { Services } from '../../services';
import type { HandlersFor } from '../router';

export function overviewHandlers(services: Services): HandlersFor<'overview.'> {
  const overview = new OverviewService(services);
  return {
    'overview.get': () => overview.get(),
  };
}
