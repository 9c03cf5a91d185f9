import { api } from '../api';
import { useApp } from '../ui/context';
import { Loaded } from '../ui/states';
import { useAsync } from '../ui/use-async';

/** The project a screen works on (kept in the URL, so a reload or a shared link keeps it). */
export function ProjectPicker({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const { t } = useApp();
  const projects = useAsync((signal) => api.get<{ id: string; name: string }[]>('/api/admin/projects/simple', signal), []);
  return (
    <Loaded state={projects} isEmpty={(d) => d.length === 0} empty={t('noProjects')}>
      {(list) => (
        <label class="field-inline">
          <span>{t('project')}</span>
          <select value={value} name="project" onChange={(e) => onChange(e.currentTarget.value)}>
            <option value="">{t('chooseProject')}</option>
            {list.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
          </select>
        </label>
      )}
    </Loaded>
  );
}
